"""`loom mcp serve`: Loom's verbs as MCP tools, on the official `mcp` SDK (MCPServer, ex-FastMCP).

- catalog: one ToolSpec per verb (tier, annotations, which CLI command it is);
- schema: tool input schemas derived from the CLI commands' own signatures (one definition);
- bridge: a tool call runs the CLI command in a worker thread, --json payload captured,
  progress forwarded, cancellation stopping a run like Ctrl-C;
- jobs: run_start / run_status / run_cancel for clients without progress support;
- resources: loom:// URIs for runs and data objects;
- server / http: the server, stdio by default, streamable HTTP on loopback with a caller key.

Nothing here is imported by `import loom` or `loom --help`: only `loom mcp serve` loads it.
"""
