"""Other clients against localbatch (azure-batch 14.x, the Azure CLI), each in a venv of its own;
a package, so that its conftest is not imported as `conftest` in place of tests/conftest.py."""
