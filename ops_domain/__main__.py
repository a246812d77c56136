from ops_domain.cli.main import main

raise SystemExit(main())
