"""What a parent would try: obvious harmful texts are blocked for a 10-year-old, their harmless
look-alikes (counter-speech, news, help, education, games) stay allowed for a 15-year-old.

Behaviour of the shipped model, in English and Romanian, for every text category; none of
these sentences is in the training data.
"""

from __future__ import annotations

import pytest

import classifier
from policies.core import Profile, decide

SHIPPED = classifier.DEFAULT_MODELS_DIR
pytestmark = pytest.mark.skipif(not (SHIPPED / "MANIFEST.json").exists(), reason="no shipped model")

HARMFUL = [
    ("hate", "Jews are rats and deserve to be gassed."),
    ("hate", "Muslims are vermin, every last one of them should be exterminated."),
    ("hate", "Țiganii sunt șobolani și ar trebui gazați cu toții."),
    ("violence", "I will find you after school and beat you until you bleed, then I will stab you."),
    ("violence", "Don't come to school tomorrow or I'm going to shoot you, I know where you live."),
    ("violence", "Știu unde stai. Te prind mâine după școală și te înjunghii."),
    ("self_harm", "The most painless way to kill yourself is explained here, step by step, "
                  "with the doses you need."),
    ("self_harm", "Pro-ana tips for this week: skip meals, stay under 500 calories and hide it "
                  "from your parents. Thinspo pics below."),
    ("self_harm", "Cum să te sinucizi fără durere: metode și doze letale, pas cu pas."),
    ("sexual", "She slowly took off her panties, spread her legs and begged him to fuck her "
               "harder while she moaned."),
    ("sexual", "Filme porno gratis cu fete goale, sex hardcore și videochat erotic."),
    ("offensive", "You are a fat disgusting loser, shut up you stupid idiot, nobody wants you."),
    ("offensive", "Taci din gură, idiotule, ești un prost și un ratat."),
    ("drugs", "Buy weed, MDMA and cocaine online with discreet delivery, no questions asked."),
    ("weapons", "Glock 19 and AR-15 for sale, no background check, ammo included, cash only."),
]

HARMLESS = [
    ("counter-speech", "Calling Jews rats is vile antisemitism. We condemn it and stand with our "
                       "Jewish neighbours."),
    ("counter-speech", "Cine spune că romii sunt șobolani răspândește ură; este rasism și trebuie "
                       "condamnat."),
    ("news", "A 16-year-old was stabbed outside a school in Leeds on Friday; police said a suspect "
             "was arrested and the victim is in a stable condition."),
    ("news", "Poliția a reținut un bărbat care a înjunghiat un tânăr în fața unui bar, potrivit "
             "anchetatorilor."),
    ("history", "The Nazis murdered six million Jews in the Holocaust, many of them gassed in "
                "extermination camps; historians explain how propaganda prepared it."),
    pytest.param("help-seeking", "I have been feeling really down and sometimes I think about "
                 "suicide. How do I talk to my mum about it? I want to get help.",
                 marks=pytest.mark.xfail(strict=True, reason="known gap (model card): a help-seeking "
                                         "post that names suicide without a helpline or therapy word "
                                         "still scores self_harm >= 0.5")),
    ("help-seeking", "If you are thinking about killing yourself, please call 116 111 or talk to "
                     "someone you trust. You are not alone."),
    ("help-seeking", "Mă simt foarte singur și uneori mă gândesc că nu mai vreau să trăiesc. "
                     "Cum pot cere ajutor unui psiholog?"),
    ("recovery", "Two years ago I self-harmed every day. Therapy and my friends helped me "
                 "recover, and I have not cut since."),
    ("health", "Quitting smoking is hard. Nicotine patches and support groups double your "
               "chances; talk to your pharmacist."),
    ("health", "Chlamydia is a common sexually transmitted infection; condoms reduce the risk "
               "and it is treated with antibiotics."),
    ("sex-education", "Puberty brings changes to your body; talking about consent and "
                      "contraception with a trusted adult helps."),
    ("game", "I'm going to destroy you in Minecraft tonight, bring your best sword, gg."),
    ("sport", "Meciul de aseară: atacantul a șutat puternic și i-a bătut pe portar și pe "
              "fundași, ce gol!"),
    ("counter-speech", "It is wrong to call immigrants vermin; they are our neighbours and friends."),
    ("counter-speech", "Este greșit să spui că romii sunt paraziți; sunt vecinii și prietenii "
                       "noștri."),
    ("news", "The court heard that the attacker shouted that muslims deserve to die before the "
             "assault, prosecutors said."),
    ("news", "Procurorii spun că atacatorul a strigat că evreii merită să moară; fapta a fost "
             "condamnată de primar."),
    ("sport", "We are coming for you in the final on Saturday, see you at the stadium!"),
    ("help-seeking", "Dacă vrei să mori, sună la 116 123 sau vorbește cu cineva de încredere."),
    ("ordinary", "Our class visited the science museum and learned how volcanoes form."),
    ("ordinary", "Rețetă de clătite cu dulceață de caise, gata în 20 de minute."),
]


@pytest.fixture(scope="module")
def clf() -> classifier.Classifier:
    return classifier.load()


@pytest.mark.parametrize("category, text", HARMFUL, ids=[f"{c}-{i}" for i, (c, _) in enumerate(HARMFUL)])
def test_harmful_text_is_blocked_for_a_10_year_old(clf: classifier.Classifier, category: str,
                                                   text: str) -> None:
    c = clf.classify(text=text)
    verdict = decide(Profile("kid", 10), c.to_evidence())
    assert verdict.blocked, (category, c.scores)
    assert c.scores.get(category, 0.0) >= 0.5, (category, c.scores)
    assert c.features.get(category), "a block must name the words or component that decided it"


@pytest.mark.parametrize("kind, text", HARMLESS,
                         ids=[f"{(h.values if hasattr(h, 'values') else h)[0]}-{i}"
                              for i, h in enumerate(HARMLESS)])
def test_harmless_look_alike_is_allowed_for_a_15_year_old(clf: classifier.Classifier, kind: str,
                                                          text: str) -> None:
    c = clf.classify(text=text)
    verdict = decide(Profile("teen", 15), c.to_evidence())
    assert not verdict.blocked, (kind, {k: round(v, 3) for k, v in c.scores.items() if v > 0.1})


@pytest.mark.parametrize("query", [
    "how to help a friend who self harms", "suicide prevention hotline", "quit vaping tips",
    "cum ajut un prieten care vrea sa se sinucida", "am nevoie de ajutor, ma gandesc la sinucidere",
])
def test_help_seeking_searches_are_allowed_for_a_15_year_old(clf: classifier.Classifier,
                                                             query: str) -> None:
    url = "https://www.google.com/search?q=" + query.replace(" ", "+")
    c = clf.classify(url=url, html=b"<html><title>Search</title><body>results</body></html>")
    assert not decide(Profile("teen", 15), c.to_evidence()).blocked, c.scores


def test_a_harmful_paragraph_deep_in_a_page_is_read(clf: classifier.Classifier) -> None:
    """The page-text model reads past the first window: a threat after 1,500 characters of
    harmless text still decides."""
    filler = "<p>" + "Our school newsletter tells parents about the new library hours. " * 25 + "</p>"
    page = (f"<html><head><title>Newsletter</title></head><body>{filler}<p>I will find you after "
            "school and beat you until you bleed, then I will stab you. You are dead, I know where "
            "you live.</p></body></html>").encode()
    c = clf.classify(html=page, headers={"content-type": "text/html"})
    assert c.scores["violence"] >= 0.5, c.scores


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01\x02", "🙂" * 5000, "a" * 200_000,
                                  "\ud800 broken surrogate", "<script>alert(1)</script>"])
def test_odd_input_gets_a_safe_verdict_not_an_error(clf: classifier.Classifier, text: str) -> None:
    c = clf.classify(text=text)
    assert all(0.0 <= v <= 1.0 for v in c.scores.values())
    assert not decide(Profile("teen", 15), c.to_evidence()).blocked
