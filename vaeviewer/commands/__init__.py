"""The `vaeviewer` subcommands behind `vaeviewer.cli.main`: the parser, `train` and `compare`."""
