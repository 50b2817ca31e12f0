from vapora_core.lifecycle import run

from vapora_agent_registry.app import RegistryApp
from vapora_agent_registry.settings import RegistrySettings

settings = RegistrySettings()
run(RegistryApp(settings), settings)
