"""localbatch: a local stand-in for the Azure Batch service, driven by the real azure-batch SDK."""

API_VERSION = "2025-06-01"
