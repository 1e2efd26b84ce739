def test_version_and_help(run_cli):
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("chestx ")
    code, out, _ = run_cli("--help")
    assert code == 0 and "Usage" in out


def test_unknown_command_is_an_error(run_cli):
    code, _, err = run_cli("no-such-command")
    assert code == 2 and "no-such-command" in err


def test_train_and_reproduce_take_every_train_config_field(run_cli, monkeypatch):
    import dataclasses

    from chestx.training.train_config import TrainConfig

    flags = ["--" + f.name.replace("_", "-") for f in dataclasses.fields(TrainConfig)
             if f.metadata.get("cli", True)]
    monkeypatch.setenv("COLUMNS", "400")  # long flags on one line of the help table
    for command, skipped in (("train", set()), ("reproduce", {"--resume"})):
        code, out, _ = run_cli(command, "--help")
        assert code == 0
        text = " ".join(out.split())
        assert [f for f in flags if f not in text] == sorted(skipped)
    assert "(one of sgd, adamw)" in text  # choices come from the field


def test_a_new_config_field_becomes_an_option():
    import dataclasses
    from pathlib import Path

    from chestx.cli.derive import config_options
    from chestx.training.train_config import TrainConfig, option

    @dataclasses.dataclass
    class WithRecipe(TrainConfig):
        recipe: str = option("paper", "Named recipe.", choices=("paper", "cpu"))
        notes: str | None = option(None, "Notes file.", path=True)

    params = {p.name: p for p in config_options(WithRecipe)}
    assert params["recipe"].default.default == "paper"
    assert params["recipe"].default.help == "Named recipe. (one of paper, cpu)"
    assert params["notes"].annotation == Path | None
    assert params["data"].annotation is Path and params["data"].default.default is ...
    assert "progress" not in params  # cli=False
