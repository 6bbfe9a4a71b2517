"""The application: the use cases the CLI, the portal and the Dagster assets share, over plain arguments and
one settings object (`application.settings`)."""
