from reporting.store.tables import metadata
from servicekit.migrations import run_env

run_env(metadata)
