"""The standard's YAML files read with libyaml's parser give exactly what PyYAML's safe loader gives."""

from __future__ import annotations

import pytest
import yaml

from schemas.standard import HERE, read_yaml


def test_every_yaml_file_of_the_standard_reads_as_the_safe_loader_reads_it():
    files = sorted(HERE.rglob("*.yaml"))
    assert len(files) > 5
    for path in files:
        assert read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path.name


def test_read_yaml_refuses_python_objects(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("!!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(yaml.YAMLError):
        read_yaml(path)
