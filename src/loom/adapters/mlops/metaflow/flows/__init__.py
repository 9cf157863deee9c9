"""Static Metaflow flow files (run as `python <file> run ...`; data enters as parameters)."""
