"""Provider registry (built-ins + entry points) and container wiring/overrides."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from dependency_injector import providers

from loom.application.config import LoomConfig
from loom.domain.errors import UnknownProviderError
from loom.entrypoints import registry
from loom.entrypoints.container import build_container


def test_every_port_has_builtins() -> None:
    assert registry.names("search") == ["aide", "baseline"]
    assert registry.names("mlops") == ["local", "metaflow"]
    assert registry.names("model_builders") == ["local", "nemo"]
    assert len(registry.names("models")) == 8


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(UnknownProviderError) as err:
        registry.target("search", "gpt-brain")
    assert err.value.exit_code == 2
    assert "aide" in str(err.value) and "baseline" in str(err.value)


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A third-party package that registers a search provider through an entry point."""
    pkg = tmp_path / "loomplugin_demo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        class EchoSearch:
            requires_modules = ("json",)
            requires_env = ()

            def __init__(self, config):
                self.config = config
    """))
    dist = tmp_path / "loomplugin_demo-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: loomplugin-demo\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[loom.search]\necho = loomplugin_demo:EchoSearch\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.refresh()
    yield "echo"
    registry.refresh()
    sys.modules.pop("loomplugin_demo", None)


def test_entry_point_provider_is_selected_like_a_builtin(plugin_dist: str, workdir: Path) -> None:
    assert plugin_dist in registry.names("search")
    assert registry.origin("search", plugin_dist) == "entry point"
    assert "loomplugin_demo" not in sys.modules  # listing does not import it
    container = build_container(LoomConfig.load(flags={"search_provider": plugin_dist}))
    adapter = container.search()
    assert type(adapter).__name__ == "EchoSearch"
    assert adapter.config.search_provider == "echo"


def test_container_builds_adapter_lazily_and_raises_friendly_error(workdir: Path) -> None:
    container = build_container(LoomConfig.load(flags={"mlops_provider": "kubeflow"}))
    with pytest.raises(UnknownProviderError) as err:
        container.mlops()
    assert "metaflow" in str(err.value)


def test_container_override_swaps_an_adapter(workdir: Path) -> None:
    container = build_container(LoomConfig.load())
    fake = object()
    with container.code_model.override(providers.Object(fake)):
        assert container.code_model() is fake
    container.search.override(providers.Object("fake-search"))
    assert container.search() == "fake-search"
    container.search.reset_override()


def test_container_passes_credentials_to_model_adapters(workdir: Path, plugin_dist: str) -> None:
    # a models provider registered from the plugin package receives the credential source
    pkg = Path(sys.path[0]) / "loomplugin_demo" / "__init__.py"
    pkg.write_text(pkg.read_text() + textwrap.dedent("""
        class KeyedModel:
            def __init__(self, config, credentials=None):
                self.credentials = credentials
    """))
    dist = Path(sys.path[0]) / "loomplugin_demo-0.1.dist-info" / "entry_points.txt"
    dist.write_text(dist.read_text() + "[loom.models]\nkeyed = loomplugin_demo:KeyedModel\n")
    registry.refresh()
    container = build_container(
        LoomConfig.load(flags={"code_provider": "keyed"}), credentials={"ANTHROPIC_API_KEY": "sk-test-123456"}
    )
    model = container.code_model()
    assert model.credentials.get("ANTHROPIC_API_KEY") == "sk-test-123456"
    assert "sk-test" not in repr(model.credentials)
