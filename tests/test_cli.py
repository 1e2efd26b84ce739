def test_version_and_help(run_cli):
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("chestx ")
    code, out, _ = run_cli("--help")
    assert code == 0 and "Usage" in out


def test_unknown_command_is_an_error(run_cli):
    code, _, err = run_cli("no-such-command")
    assert code == 2 and "no-such-command" in err
