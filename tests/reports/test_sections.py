from chestx.reports.sections import find_sections


def bodies(text):
    return [text[a:b].strip() for a, b in find_sections(text)]


def test_keeps_findings_and_impression_only():
    text = ("COMPARISON: None.\nINDICATION: Cough, rule out pneumonia.\n"
            "FINDINGS: Small effusion.\nIMPRESSION: Effusion.")
    assert bodies(text) == ["Small effusion.", "Effusion."]


def test_headers_on_their_own_line_and_lower_case():
    text = "Indication\nfever, pneumonia?\nFindings\nLungs are clear.\nImpression\nNormal."
    assert bodies(text) == ["Lungs are clear.", "Normal."]


def test_conclusion_and_inline_header_after_sentence():
    text = "History: pneumonia. Conclusion: no effusion."
    assert bodies(text) == ["no effusion."]


def test_whole_report_without_sections():
    text = "The lungs are clear. No pneumothorax."
    assert find_sections(text) == [(0, len(text))]


def test_header_word_inside_a_sentence_is_not_a_header():
    text = "FINDINGS: These findings are stable.\nIMPRESSION: Stable."
    assert bodies(text) == ["These findings are stable.", "Stable."]


def test_a_request_alone_is_not_read():
    assert bodies("Indication: cough, fever, r/o pneumonia.") == []
    assert bodies("HISTORY:\npneumonia\nCOMPARISON: None.") == []
    text = "History: pneumonia.\nThe lungs are clear. No effusion."
    assert bodies(text) == ["The lungs are clear. No effusion."]  # inline: its line only


def test_request_sections_next_to_other_headers():
    text = "EXAM: Chest PA and lateral.\nREASON FOR EXAM: cough\nNo acute disease."
    assert bodies(text) == ["EXAM: Chest PA and lateral.", "No acute disease."]
