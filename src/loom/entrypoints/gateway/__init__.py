"""The gateway server (`loom proxy serve`)."""
