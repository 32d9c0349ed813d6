from hivegov_mcp.cli import main

raise SystemExit(main())
