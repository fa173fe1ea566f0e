from pathlib import Path

from streamlit.testing.v1 import AppTest


def test_home_explains_example_and_rejects_bad_letters():
    at = AppTest.from_file(str(Path(__file__).parents[2] / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "f(x) = 3.000" in " ".join(m.value for m in at.markdown)
    at.text_input[0].set_value("GNT").run()
    assert at.error and "'N' at position 2" in at.error[0].value
