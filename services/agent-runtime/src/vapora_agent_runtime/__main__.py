from vapora_agent_runtime.app import RuntimeApp
from vapora_agent_runtime.settings import RuntimeSettings
from vapora_core.lifecycle import run

settings = RuntimeSettings()
run(RuntimeApp(settings), settings)
