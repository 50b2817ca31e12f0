from vapora_core.lifecycle import run
from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_knowledge_graph.settings import KgSettings

settings = KgSettings()
run(KnowledgeGraphApp(settings), settings)
