"""Texts of the internal pages, per language (en, ro); unknown languages fall back to en."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "report_title": "Report this page",
        "report_recorded": "Thank you. kidgate has noted that you want to report this page.",
        "report_hotline": "Reports go to {hotline}, the hotline for illegal content online.",
        "report_steps": "1. Copy the address below. 2. Open the report form. "
                        "3. Paste the address into the form and send it.",
        "report_address": "Address of the page",
        "copy": "Copy",
        "copied": "Copied",
        "open_form": "Open the {hotline} report form",
        "also": "Also:",
        "dont": "Do not take screenshots, do not download or save anything, and do not send "
                "the page to anyone. The address is all the hotline needs; keeping such material "
                "can itself be an offence.",
        "anonymous_yes": "You do not have to give your name.",
        "anonymous_unknown": "It is not confirmed whether this form accepts anonymous reports.",
        "nothing_sent": "Nothing is sent until you send the form yourself.",
        "talk": "If something online upset you, talk to an adult you trust.",
        "ask_title": "Ask for access",
        "ask_intro": "This page was blocked. You can ask a parent or teacher to allow it.",
        "ask_blocked_because": "Why it was blocked:",
        "ask_message": "Message (optional)",
        "ask_send": "Send the request",
        "ask_sent": "Your request was sent. A parent or teacher will decide; try again later.",
        "decide_title": "Request for access",
        "decide_intro": "{profile} asked to open a page that kidgate blocked.",
        "decide_profile": "Profile",
        "decide_page": "Page",
        "decide_blocked": "Blocked as",
        "decide_message": "Message",
        "decide_will": "What the button below does:",
        "decide_confirm": "Confirm",
        "decide_approve_1h": "allow this page for 1 hour",
        "decide_approve_1d": "allow this page for 1 day",
        "decide_approve_always": "always allow the whole site {host}",
        "decide_deny": "say no: the page stays blocked",
        "decide_done": "Done. Your answer was recorded:",
        "decide_effect": "It takes effect within a few seconds.",
        "decide_answered": "This request was already answered ({status}). Nothing was changed.",
        "decide_status_approved": "approved",
        "decide_status_denied": "denied",
        "refused_title": "This link cannot be used",
        "refused_expired": "The link has expired. Go back and reload the blocked page.",
        "refused_replayed": "This link was already used. Your earlier action was recorded.",
        "refused_other": "The link is not valid. Open it again from the block page.",
        "refused_rate": "Too many requests. Wait a minute and try again.",
        "refused_url": "This address cannot be reported or requested.",
        "not_found": "Not found.",
        "unavailable_title": "Not saved",
        "unavailable": "kidgate could not save this just now, so nothing was sent. Wait a "
                       "minute and try again; the link still works.",
        "home_title": "kidgate is looking after this network",
        "home_intro": "Pages that are not right for your age are blocked here, and every block "
                      "says why.",
        "home_certificate": "Seeing certificate warnings on secure pages? Install kidgate's "
                            "certificate once on this device:",
        "home_certificate_link": "open the certificate page",
        "home_report": "Found something online that hurts children? Report the address to {hotline}:",
        "home_helpline": "Need someone to talk to? Call the child helpline {number}, free and "
                         "confidential.",
    },
    "ro": {
        "report_title": "Raportează această pagină",
        "report_recorded": "Mulțumim. kidgate a notat că vrei să raportezi această pagină.",
        "report_hotline": "Raportările ajung la {hotline}, linia de raportare a conținutului "
                          "ilegal online.",
        "report_steps": "1. Copiază adresa de mai jos. 2. Deschide formularul de raportare. "
                        "3. Lipește adresa în formular și trimite-l.",
        "report_address": "Adresa paginii",
        "copy": "Copiază",
        "copied": "Copiat",
        "open_form": "Deschide formularul de raportare {hotline}",
        "also": "De asemenea:",
        "dont": "Nu face capturi de ecran, nu descărca și nu salva nimic și nu trimite pagina "
                "nimănui. Linia de raportare are nevoie doar de adresă; păstrarea unui astfel "
                "de material poate fi ea însăși o infracțiune.",
        "anonymous_yes": "Nu trebuie să îți spui numele.",
        "anonymous_unknown": "Nu este confirmat dacă formularul acceptă raportări anonime.",
        "nothing_sent": "Nu se trimite nimic până nu trimiți tu formularul.",
        "talk": "Dacă ceva online te-a supărat, vorbește cu un adult în care ai încredere.",
        "ask_title": "Cere acces",
        "ask_intro": "Această pagină a fost blocată. Poți cere unui părinte sau profesor "
                     "să o permită.",
        "ask_blocked_because": "De ce a fost blocată:",
        "ask_message": "Mesaj (opțional)",
        "ask_send": "Trimite cererea",
        "ask_sent": "Cererea ta a fost trimisă. Un părinte sau profesor va decide; "
                    "încearcă mai târziu.",
        "decide_title": "Cerere de acces",
        "decide_intro": "{profile} a cerut să deschidă o pagină blocată de kidgate.",
        "decide_profile": "Profil",
        "decide_page": "Pagina",
        "decide_blocked": "Blocată ca",
        "decide_message": "Mesaj",
        "decide_will": "Ce face butonul de mai jos:",
        "decide_confirm": "Confirmă",
        "decide_approve_1h": "permite această pagină timp de o oră",
        "decide_approve_1d": "permite această pagină timp de o zi",
        "decide_approve_always": "permite mereu tot site-ul {host}",
        "decide_deny": "refuză: pagina rămâne blocată",
        "decide_done": "Gata. Răspunsul a fost înregistrat:",
        "decide_effect": "Se aplică în câteva secunde.",
        "decide_answered": "Această cerere a primit deja un răspuns ({status}). "
                           "Nu s-a schimbat nimic.",
        "decide_status_approved": "aprobată",
        "decide_status_denied": "refuzată",
        "refused_title": "Acest link nu poate fi folosit",
        "refused_expired": "Linkul a expirat. Întoarce-te și reîncarcă pagina blocată.",
        "refused_replayed": "Acest link a fost deja folosit. Acțiunea ta a fost înregistrată.",
        "refused_other": "Linkul nu este valid. Deschide-l din nou din pagina de blocare.",
        "refused_rate": "Prea multe cereri. Așteaptă un minut și încearcă din nou.",
        "refused_url": "Această adresă nu poate fi raportată sau cerută.",
        "not_found": "Nu a fost găsit.",
        "unavailable_title": "Nesalvat",
        "unavailable": "kidgate nu a putut salva acum, așa că nu s-a trimis nimic. Așteaptă "
                       "un minut și încearcă din nou; linkul încă funcționează.",
        "home_title": "kidgate are grijă de această rețea",
        "home_intro": "Paginile care nu sunt potrivite vârstei tale sunt blocate aici și fiecare "
                      "blocare spune de ce.",
        "home_certificate": "Vezi avertismente de certificat pe paginile securizate? Instalează o "
                            "singură dată certificatul kidgate pe acest dispozitiv:",
        "home_certificate_link": "deschide pagina certificatului",
        "home_report": "Ai găsit online ceva care face rău copiilor? Raportează adresa la {hotline}:",
        "home_helpline": "Ai nevoie să vorbești cu cineva? Sună la linia pentru copii {number}, "
                         "gratuit și confidențial.",
    },
}


def language(code: str | None) -> str:
    base = (code or "en").split("-")[0].lower()
    return base if base in MESSAGES else "en"


def texts(code: str | None) -> dict[str, str]:
    return MESSAGES[language(code)]
