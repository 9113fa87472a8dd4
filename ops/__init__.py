"""The Recipes app's own operations, outside any Lambda function: its schema migrations, its
seed data, its API keys, and `setup`, the command its template's `Metadata: Local: Setup`
asks `local up` to run once the services are ready (`python -m ops --help`)."""
