from tests.api.fixtures import demo_out

__all__ = ["demo_out"]
