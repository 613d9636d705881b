from tests.llm.servers import local_llm  # noqa: F401
