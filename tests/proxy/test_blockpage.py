"""The block page: child's words, parent's reasons, language, escaping, hidden hotline URLs."""

from kidgate import blockpage
from policies.core import Profile, Reason, Verdict


def verdict(category, min_age=18, detail="list ut1/adult: domain x.test", source="list"):
    return Verdict("block", category, min_age, (Reason(source, category, detail, min_age),))


def test_child_words_and_parent_reasons():
    page = blockpage.render(verdict("sexual"), url="http://x.test/a", profile=Profile("kid", 10))
    assert "This page is blocked" in page
    assert "people aged 18 and older" in page
    assert "grown-up content about sex or nudity" in page
    assert "list ut1/adult: domain x.test" in page and "http://x.test/a" in page


def test_romanian():
    page = blockpage.render(verdict("gambling"), url="http://x.test/",
                            profile=Profile("kid", 10, language="ro"))
    assert 'lang="ro"' in page and "Această pagină este blocată" in page
    assert "pariuri și jocuri de noroc" in page


def test_everything_is_escaped():
    evil = '"><script>alert(1)</script>'
    page = blockpage.render(verdict("hate", detail=evil), url="http://x.test/" + evil,
                            profile=Profile(evil, 10))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_quotes_entities_and_tags_cannot_leave_their_place():
    """A hostile host, path, profile name, detector detail, service name or link stays text:
    no tag, no attribute of its own, entities shown as written."""
    evil = "\"'><script>alert(1)</script>&amp;<img src=x onerror=alert(2)>"
    v = Verdict("block", "hate", 18, (Reason("list", "hate", evil, 18),), service=evil)

    class Links:
        report_url = "http://kidgate.internal/report?t=" + evil
        ask_url = "http://kidgate.internal/ask?t=" + evil
    page = blockpage.render(v, url="http://" + evil + "/" + evil, profile=Profile(evil, 10),
                            links=Links())
    assert "<script" not in page and "<img" not in page and "onerror=alert" in page
    assert page.count("&lt;script&gt;") == 9  # url (x2), profile, detail, service (x3), links (x2)
    assert "&amp;amp;" in page and "&#34;&#39;&gt;" in page
    assert 'data-service="&#34;&#39;&gt;&lt;script&gt;' in page
    assert page.count("<a ") == 2


def test_hotline_url_hidden_and_self_harm_helpline():
    page = blockpage.render(verdict("csam", 1000), url="http://secret.test/path",
                            profile=Profile("kid", 10), show_url=False)
    assert "secret.test/path" not in page.split("<details>")[1].split("Reasons")[0]
    page = blockpage.render(verdict("self_harm"), url="http://x.test/", profile=Profile("kid", 10),
                            helpline="116 111")
    assert "116 111" in page


def test_buttons_only_when_linked():
    class Links:
        report_url = "http://kidgate.internal/report?t=abc"
        ask_url = None
    page = blockpage.render(verdict("violence", 16), url="http://x.test/", profile=Profile("k", 9),
                            links=Links())
    assert 'href="http://kidgate.internal/report?t=abc"' in page and 'class="ask"' not in page
    assert 'class="report"' not in blockpage.render(verdict("violence", 16), url="http://x.test/",
                                                    profile=Profile("k", 9))


def test_schedule_and_error_leads():
    sched = Verdict("block", None, 1000, (Reason("schedule", None, "bedtime", 1000),))
    assert "paused" in blockpage.render(sched, url="http://x.test/", profile=Profile("k", 9))
    err = Verdict("block", None, 1000, (Reason("error", None, "classifier timed out", 1000),))
    assert "could not check" in blockpage.render(err, url="http://x.test/", profile=Profile("k", 9))
