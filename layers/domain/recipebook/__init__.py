"""The recipe domain: models, SQL and the operations each endpoint function calls."""
