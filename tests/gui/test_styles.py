"""The style dropdown shows each painting; `stylecam --list-styles` and titles on the command line."""

import cv2
import numpy as np

from stylecam.gui.app import main
from stylecam.testing import write_model


def test_each_style_shows_its_painting_in_the_dropdown(qtbot, make_window, isolated_catalog):
    builtin, _ = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave", meta={"stylecam.title": "The Great Wave"})
    write_model(builtin / "plain.onnx", "swap", name="plain")
    painting = np.zeros((48, 48, 3), np.uint8)
    painting[:, :, 0] = 255  # blue in BGR
    cv2.imwrite(str(builtin / "wave.png"), painting)
    w = make_window()
    box = w.style_box
    icons = {box.itemText(i): box.itemIcon(i) for i in range(box.count())}
    assert list(icons) == ["Original", "plain", "The Great Wave"]
    assert icons["Original"].isNull() and icons["plain"].isNull()
    pixel = icons["The Great Wave"].pixmap(32, 32).toImage().pixelColor(16, 16)
    assert (pixel.red(), pixel.green(), pixel.blue()) == (0, 0, 255)
    assert box.iconSize().width() == 32
    assert box.itemData(2, 3).startswith("wave · style · ")  # the tooltip gives the name to type
    # a thumbnail added later (stylecam-train wrote it) appears on the next rescan
    cv2.imwrite(str(builtin / "plain.png"), painting)
    w.refresh_models()
    assert not box.itemIcon(1).isNull()


def test_list_styles_and_a_title_for_a_name(capsys, isolated_catalog):
    builtin, _ = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave", meta={"stylecam.title": "The Great Wave"})
    assert main(["--list-styles"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "title", "tier", "precision"]
    assert out[1].split() == ["wave", "The", "Great", "Wave", "-", "float"]
    # the title resolves (the next check, --record's folder, is what stops it)
    assert main(["--style", "the great wave", "--record", "/no/such/x.mkv"]) == 2
    assert capsys.readouterr().err == "stylecam: --record /no/such/x.mkv: folder /no/such does not exist\n"
    assert main(["--style", "Great Wave", "--record", "/no/such/x.mkv"]) == 2
    assert capsys.readouterr().err == "stylecam: unknown model 'Great Wave'; did you mean 'wave'? known: wave\n"
