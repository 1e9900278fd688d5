from articles import content


def test_cited_numbers_expand_lists_and_ranges():
    assert content.cited_numbers("a [1] b [2, 4] c [6-8] d [9\u201310]") == {1, 2, 4, 6, 7, 8, 9, 10}


def test_citation_problems_name_dangling_markers_and_uncited_references():
    dangling, uncited = content.citation_problems(["Text [1] [4]", "Patient [2]"], reference_count=3)
    assert dangling == [4]
    assert uncited == [3]


def test_content_hash_is_stable_and_sensitive():
    data = {"title": "Q?", "body": "Text", "references": [{"title": "A"}]}
    same = {"references": [{"title": "A"}], "body": "Text", "title": "Q?"}
    assert content.content_hash(data) == content.content_hash(same)
    assert content.content_hash(data) != content.content_hash({**data, "body": "Text."})
    assert len(content.content_hash(data)) == 64


def test_word_diff_marks_removed_and_added_words_and_escapes_text():
    from articles.diff import word_diff

    html = word_diff("Take 400 mg <b>daily</b>.", "Take 600 mg <b>daily</b>.")
    assert "<del>400</del><ins>600</ins>" in html
    assert "&lt;b&gt;" in html and "<b>" not in html


def test_diff_versions_names_only_changed_fields():
    from articles.diff import diff_versions

    old = {"title": "Q?", "body": "A [1].", "references": [{"title": "Guideline", "year": 2020}]}
    new = {
        "title": "Q?",
        "body": "A [1] [2].",
        "references": [{"title": "Guideline", "year": 2020}, {"title": "Trial"}],
    }
    changes = diff_versions(old, new)
    assert [c["field"] for c in changes] == ["body", "references"]
    assert "<ins>[2] Trial</ins>" in changes[1]["html"] or "Trial</ins>" in changes[1]["html"]
