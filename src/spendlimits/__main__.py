from spendlimits.cli import main

raise SystemExit(main())
