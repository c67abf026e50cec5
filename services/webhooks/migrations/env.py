from servicekit.migrations import run_env
from webhooks.store.tables import metadata

run_env(metadata)
