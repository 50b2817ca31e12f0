from vapora_core.lifecycle import run
from vapora_llm_router.app import RouterApp
from vapora_llm_router.settings import RouterSettings

settings = RouterSettings()
run(RouterApp(settings), settings)
