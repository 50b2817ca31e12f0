from vapora_core.lifecycle import run
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.settings import CoordinatorSettings

settings = CoordinatorSettings()
run(CoordinatorApp(settings), settings)
