from vapora_agent_registry.app import RegistryApp
from vapora_agent_registry.settings import RegistrySettings
from vapora_core.lifecycle import run

settings = RegistrySettings()
run(RegistryApp(settings), settings)
