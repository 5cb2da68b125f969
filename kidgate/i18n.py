"""Words shown to children and parents, in every interface language (en, ro)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "This page is blocked",
        "lead": "kidgate stopped this page because it is not meant for you.",
        "lead_age": "This page is meant for people aged {age} and older.",
        "lead_schedule": "The internet is paused right now. It will be back later.",
        "lead_pause": "A parent paused the internet until {until}. It comes back by itself then.",
        "why_pause": "paused by a parent until {until}",
        "lead_service": "{service} is switched off for you.",
        "why_service": "{service}, switched off by your family",
        "lead_error": "kidgate could not check this page, so it stayed closed to keep you safe.",
        "not_your_fault": "You did nothing wrong. If you think this is a mistake, ask a grown-up.",
        "category": "Why",
        "for_parents": "For parents and teachers",
        "profile": "Profile",
        "page": "Page",
        "reasons": "Reasons",
        "report": "Report this page to the hotline",
        "report_hint": "Pages that hurt children can be reported. Nothing is sent until you choose to.",
        "ask": "Ask for access",
        "helpline": "Feeling down, or need someone to talk to? Call the child helpline {number}, free and confidential.",
        "go_back": "Go back",
    },
    "ro": {
        "title": "Această pagină este blocată",
        "lead": "kidgate a oprit această pagină pentru că nu este potrivită pentru tine.",
        "lead_age": "Această pagină este pentru persoane de {age} ani și peste.",
        "lead_schedule": "Internetul este în pauză acum. Va reveni mai târziu.",
        "lead_pause": "Un părinte a pus internetul pe pauză până la {until}. Revine singur atunci.",
        "why_pause": "pus pe pauză de un părinte până la {until}",
        "lead_service": "{service} este oprit pentru tine.",
        "why_service": "{service}, oprit de familia ta",
        "lead_error": "kidgate nu a putut verifica această pagină, așa că a rămas închisă ca să fii în siguranță.",
        "not_your_fault": "Nu ai greșit cu nimic. Dacă crezi că este o greșeală, roagă un adult să te ajute.",
        "category": "De ce",
        "for_parents": "Pentru părinți și profesori",
        "profile": "Profil",
        "page": "Pagina",
        "reasons": "Motive",
        "report": "Raportează pagina la linia de urgență",
        "report_hint": "Paginile care fac rău copiilor pot fi raportate. Nu se trimite nimic până nu alegi tu.",
        "ask": "Cere acces",
        "helpline": "Te simți trist sau ai nevoie să vorbești cu cineva? Sună la linia pentru copii {number}, gratuit și confidențial.",
        "go_back": "Înapoi",
    },
}

#: Each category in a child's words.
CATEGORY_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "csam": "illegal content that hurts children",
        "sexual": "grown-up content about sex or nudity",
        "violence": "violent or scary content",
        "hate": "content that is hateful towards people",
        "offensive": "rude words, insults or bullying",
        "self_harm": "content about hurting yourself",
        "drugs": "drugs, alcohol or smoking",
        "gambling": "betting and gambling",
        "weapons": "weapons",
        "dating": "dating sites for grown-ups",
        "social": "social networks and chat",
        "bypass": "tools that get around the filter",
        "malware": "a dangerous site that may harm your device",
        None: "a page your family chose to block",
    },
    "ro": {
        "csam": "conținut ilegal care face rău copiilor",
        "sexual": "conținut pentru adulți despre sex sau nuditate",
        "violence": "conținut violent sau înfricoșător",
        "hate": "conținut care urăște oameni",
        "offensive": "cuvinte urâte, insulte sau hărțuire",
        "self_harm": "conținut despre a-ți face rău",
        "drugs": "droguri, alcool sau fumat",
        "gambling": "pariuri și jocuri de noroc",
        "weapons": "arme",
        "dating": "site-uri de întâlniri pentru adulți",
        "social": "rețele sociale și chat",
        "bypass": "unelte care ocolesc filtrul",
        "malware": "un site periculos care îți poate strica dispozitivul",
        None: "o pagină pe care familia ta a ales să o blocheze",
    },
}


def text(language: str, key: str, **kw: object) -> str:
    table = MESSAGES.get(language, MESSAGES["en"])
    return table.get(key, MESSAGES["en"][key]).format(**kw)


def category_name(language: str, category: str | None) -> str:
    table = CATEGORY_NAMES.get(language, CATEGORY_NAMES["en"])
    return table.get(category, CATEGORY_NAMES["en"].get(category, str(category)))
