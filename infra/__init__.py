"""Schema migrations and provisioning of the AWS resources that template.yaml declares."""
