"""Who is calling: JSON Web Tokens checked against their issuer's keys (JWT and Cognito
authorizers), the development issuer that mints them locally, and SigV4 signatures
(function URLs with AWS_IAM)."""
