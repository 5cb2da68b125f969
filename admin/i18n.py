"""The admin app's texts in English and Romanian.

Templates and views call ``_("English text")``; the English text is the key, so every string
is readable where it is used and a missing translation falls back to English.
"""

from __future__ import annotations

LANGUAGES = ("en", "ro")

RO: dict[str, str] = {
    "kidgate admin": "administrare kidgate",
    "Dashboard": "Panou",
    "Event log": "Jurnal",
    "Audit log": "Jurnal de modificări",
    "Accounts": "Conturi",
    "Sign in": "Autentificare",
    "Sign out": "Ieșire",
    "User name": "Nume de utilizator",
    "Password": "Parolă",
    "Password again": "Parola din nou",
    "Language": "Limba",
    "Set up kidgate": "Configurare kidgate",
    "Setup code": "Cod de configurare",
    "Create the owner account": "Creează contul de proprietar",
    "kidgate printed a one-time setup code when it started (also: kidgate admin setup-code). "
    "Enter it to choose the owner's user name and password.":
        "kidgate a afișat un cod de configurare de unică folosință la pornire (și: kidgate "
        "admin setup-code). Introduceți-l pentru a alege numele și parola proprietarului.",
    "Wrong user name, password or code.": "Nume de utilizator, parolă sau cod greșite.",
    "Code from your authenticator app (if you turned on two-step sign-in)":
        "Codul din aplicația de autentificare (dacă ați activat autentificarea în doi pași)",
    "Two-step sign-in": "Autentificare în doi pași",
    "Two-step sign-in is on.": "Autentificarea în doi pași este activă.",
    "Two-step sign-in is off.": "Autentificarea în doi pași este oprită.",
    "Two-step sign-in is on: signing in asks for the code your authenticator app shows.":
        "Autentificarea în doi pași este activă: la autentificare se cere codul din aplicație.",
    "Scan this code with an authenticator app (or type the key), then enter the code it shows.":
        "Scanați acest cod cu o aplicație de autentificare (sau introduceți cheia), apoi "
        "introduceți codul afișat.",
    "QR code for the authenticator app": "Cod QR pentru aplicația de autentificare",
    "Code": "Cod",
    "Turn on": "Activează",
    "Turn off": "Oprește",
    "This is not the code the app shows now.": "Acesta nu este codul afișat acum de aplicație.",
    "Too many failed sign-ins from this address. Try again in {minutes} minutes.":
        "Prea multe încercări eșuate de la această adresă. Încercați din nou peste "
        "{minutes} minute.",
    "Requests": "Cereri",
    "Blocked": "Blocate",
    "Allowed": "Permise",
    "Block rate": "Rată de blocare",
    "Requests and blocks per day": "Cereri și blocări pe zi",
    "Blocks by category": "Blocări pe categorii",
    "Blocks by source": "Blocări după sursă",
    "Blocks by profile": "Blocări pe profiluri",
    "Blocks by device": "Blocări pe dispozitive",
    "Top blocked sites": "Cele mai blocate site-uri",
    "Site": "Site",
    "Category": "Categorie",
    "Blocks": "Blocări",
    "Time": "Ora",
    "Profile": "Profil",
    "Device": "Dispozitiv",
    "Action": "Acțiune",
    "Reasons": "Motive",
    "Search": "Caută",
    "From": "De la",
    "Until": "Până la",
    "Filter": "Filtrează",
    "any": "oricare",
    "allowed": "permis",
    "blocked": "blocat",
    "Export CSV": "Exportă CSV",
    "This was wrong": "A fost greșit",
    "Allow this site for {profile}": "Permite acest site pentru {profile}",
    "Block this site for {profile}": "Blochează acest site pentru {profile}",
    "Previous": "Înapoi",
    "Next": "Înainte",
    "Page {n} of {total}": "Pagina {n} din {total}",
    "No events match.": "Niciun eveniment nu corespunde.",
    "No decisions logged yet.": "Nicio decizie înregistrată încă.",
    "Last 24 hours": "Ultimele 24 de ore",
    "Last 7 days": "Ultimele 7 zile",
    "Last 30 days": "Ultimele 30 de zile",
    "Period": "Perioada",
    "Who": "Cine",
    "What": "Ce",
    "Details": "Detalii",
    "Add an account": "Adaugă un cont",
    "Role": "Rol",
    "Profiles (teachers)": "Profiluri (profesori)",
    "Add": "Adaugă",
    "owner": "proprietar",
    "parent": "părinte",
    "teacher": "profesor",
    "safeguarding": "responsabil de protecție",
    "Done: {host} is now allowed for {profile}; the proxy applies it within seconds.":
        "Gata: {host} este acum permis pentru {profile}; proxy-ul aplică schimbarea în "
        "câteva secunde.",
    "Done: {host} is now blocked for {profile}; the proxy applies it within seconds.":
        "Gata: {host} este acum blocat pentru {profile}; proxy-ul aplică schimbarea în "
        "câteva secunde.",
    "Nothing was changed: {error}": "Nu s-a schimbat nimic: {error}",
    "The form has expired or did not come from this page. Nothing was changed; reload the "
    "page and try again.":
        "Formularul a expirat sau nu provine din această pagină. Nu s-a schimbat nimic; "
        "reîncărcați pagina și încercați din nou.",
    "You may not do this.": "Nu aveți voie să faceți asta.",
    "Account {name} added.": "Contul {name} a fost adăugat.",
    "Profiles": "Profiluri",
    "Where you are signed in": "Unde sunteți autentificat",
    "Address": "Adresa",
    "Signed in": "Autentificat la",
    "Last used": "Folosit ultima dată",
    "this device": "acest dispozitiv",
    "Access requests waiting for an answer: {n}":
        "Cereri de acces care așteaptă un răspuns: {n}",
    "every profile": "toate profilurile",
    "… for everyone": "… pentru toți",
    "Live": "În direct",
    "Unblock a site for a while": "Deblochează un site pentru o vreme",
    "Site or page": "Site sau pagină",
    "Unblock": "Deblochează",
    "Choose one of your profiles.": "Alegeți unul dintre profilurile dvs.",
    "Choose this page or the whole site.": "Alegeți această pagină sau tot site-ul.",
    "Change password": "Schimbă parola",
    "Current password": "Parola actuală",
    "New password": "Parola nouă",
    "Password changed; your other sessions are signed out.":
        "Parola a fost schimbată; celelalte sesiuni au fost închise.",
    "This is not your current password.": "Aceasta nu este parola actuală.",
    "Remove": "Șterge",
    "Use at least 10 characters.": "Folosiți cel puțin 10 caractere.",
    "Use at most 1024 characters.": "Folosiți cel mult 1024 de caractere.",
    "The password must not be the user name.": "Parola nu poate fi numele de utilizator.",
    "The two passwords differ.": "Cele două parole diferă.",
    "This is not the setup code kidgate printed.":
        "Acesta nu este codul de configurare afișat de kidgate.",
    "kidgate is already set up: sign in instead.":
        "kidgate este deja configurat: autentificați-vă.",
    "This user name is taken.": "Acest nume de utilizator este deja folosit.",
    "Use 1 to 64 lower-case letters, digits, dots, dashes or underscores, starting with a "
    "letter or digit.": "Folosiți 1-64 de litere mici, cifre, puncte, cratime sau liniuțe de "
    "subliniere, începând cu o literă sau o cifră.",
    "Age": "Vârsta",
    "Safe search": "Căutare sigură",
    "Always allowed": "Permise mereu",
    "Always blocked": "Blocate mereu",
    "Edit": "Modifică",
    "Save": "Salvează",
    "YouTube restricted mode": "Modul restricționat YouTube",
    "When a detector fails": "Când un detector nu funcționează",
    "kidgate's default": "implicit (kidgate)",
    "Always allowed (one site per line)": "Permise mereu (un site pe rând)",
    "Always blocked (one site per line)": "Blocate mereu (un site pe rând)",
    "Profile {name} saved; the proxy applies it within seconds.":
        "Profilul {name} a fost salvat; proxy-ul îl aplică în câteva secunde.",
    "kidgate runs on its shipped default configuration; start it with --config FILE to change "
    "profiles.": "kidgate rulează cu configurația implicită; porniți-l cu --config FIȘIER "
    "pentru a modifica profilurile.",
    "Access requests": "Cereri de acces",
    "Waiting for an answer": "Așteaptă un răspuns",
    "Answered": "Cu răspuns",
    "Page": "Pagina",
    "Why it was blocked": "De ce a fost blocată",
    "Message": "Mesaj",
    "For": "Pentru",
    "this page": "această pagină",
    "the whole site": "tot site-ul",
    "Approve": "Aprobă",
    "Deny": "Refuză",
    "Revoke": "Retrage",
    "Answer": "Răspuns",
    "always": "mereu",
    "approved": "aprobată",
    "denied": "refuzată",
    "No requests are waiting.": "Nicio cerere nu așteaptă.",
    "Reports to the hotline": "Raportări către linia de urgență",
    "Hotline": "Linia de raportare",
    "Request #{id} approved.": "Cererea #{id} a fost aprobată.",
    "Request #{id} denied.": "Cererea #{id} a fost refuzată.",
    "Request #{id} revoked: the page is blocked again within a second.":
        "Cererea #{id} a fost retrasă: pagina este blocată din nou într-o secundă.",
    "Pause and extra time": "Pauză și timp în plus",
    "Saved; the proxy applies it within seconds.": "Salvat; proxy-ul aplică schimbarea în câteva secunde.",
    "Pause the internet": "Pune internetul pe pauză",
    "Paused until {until}.": "Pe pauză până la {until}.",
    "Resume now": "Repornește acum",
    "Every site is blocked for {name} until then, except the sites always allowed for this profile.":
        "Toate site-urile sunt blocate pentru {name} până atunci, în afară de cele permise "
        "mereu pentru acest profil.",
    "until the time below": "până la ora de mai jos",
    "Until (time of day)": "Până la (ora)",
    "Pause now": "Pauză acum",
    "Extra time": "Timp în plus",
    "{what} until {until}": "{what} până la {until}",
    "End extra time now": "Oprește timpul în plus acum",
    "Schedules (bedtime, homework) do not block until then; for a category, its age limit is lifted too.":
        "Programele (culcare, teme) nu blochează până atunci; pentru o categorie, se ridică "
        "și limita ei de vârstă.",
    "the whole internet": "tot internetul",
    "Give extra time": "Dă timp în plus",
    "Blocked services": "Servicii blocate",
    "Blocked only during the schedules written in the profile's services entry.":
        "Blocate doar în programele scrise în secțiunea services a profilului.",
    "Save blocked services": "Salvează serviciile blocate",
    "Choose one of {lengths} or a time.": "Alegeți una dintre {lengths} sau o oră.",
    "Write a time of day such as 20:00.": "Scrieți o oră, de exemplu 20:00.",
    "Choose the whole internet or a category.": "Alegeți tot internetul sau o categorie.",
    "Unknown service: {name}": "Serviciu necunoscut: {name}",
    "Lists": "Liste",
    "Block-lists": "Liste de blocare",
    "Update finished:": "Actualizare încheiată:",
    "Updating the lists…": "Se actualizează listele…",
    "The lists in use cannot be read:": "Listele folosite nu pot fi citite:",
    "In use: the lists shipped with kidgate (no update yet).":
        "Folosite: listele livrate cu kidgate (nicio actualizare încă).",
    "In use:": "Folosite:",
    "entries": "intrări",
    "built": "construite",
    "Automatic update: every day at {hour}:00.": "Actualizare automată: zilnic la {hour}:00.",
    "Automatic update is off.": "Actualizarea automată este oprită.",
    "Last attempt:": "Ultima încercare:",
    "Last success:": "Ultima reușită:",
    "Next:": "Următoarea:",
    "Update now": "Actualizează acum",
    "Entries per category": "Intrări pe categorii",
    "Entries": "Intrări",
    "List": "Listă",
    "Sites": "Site-uri",
    "Pages": "Pagini",
    "Source": "Sursă",
    "Date": "Data",
    "hotline": "linie de raportare",
    "Test a page": "Testează o pagină",
    "Test a page or a text": "Testează o pagină sau un text",
    "kidgate decides as the proxy would: the same settings, lists, approvals and classifier.":
        "kidgate decide ca proxy-ul: aceleași setări, liste, aprobări și clasificator.",
    "Page address": "Adresa paginii",
    "Text (optional): what the page says": "Text (opțional): ce scrie pe pagină",
    "For the profile": "Pentru profilul",
    "For the device with the address": "Pentru dispozitivul cu adresa",
    "Test": "Testează",
    "The test could not run:": "Testul nu a putut rula:",
    "Why": "De ce",
    "Nothing on the page or in the address is unsuitable for this profile.":
        "Nimic din pagină sau din adresă nu este nepotrivit pentru acest profil.",
    "Classifier scores": "Scorurile clasificatorului",
    "Give a page address, a text, or both.": "Dați o adresă de pagină, un text sau amândouă.",
    "Write a full address such as https://example.org/page.":
        "Scrieți o adresă completă, de exemplu https://example.org/pagina.",
    "The text is too long: at most 20,000 characters.":
        "Textul este prea lung: cel mult 20.000 de caractere.",
    "Write the device's IP address, such as 192.168.1.23.":
        "Scrieți adresa IP a dispozitivului, de exemplu 192.168.1.23.",
    "Devices": "Dispozitive",
    "Saved: the proxy applies it within seconds.": "Salvat: proxy-ul aplică schimbarea în câteva secunde.",
    "A device that no entry names gets the default profile:":
        "Un dispozitiv care nu este numit primește profilul implicit:",
    "Known devices": "Dispozitive cunoscute",
    "Name": "Nume",
    "Recognised by": "Recunoscut după",
    "Groups": "Grupuri",
    "IP address": "adresa IP",
    "network (CIDR)": "rețea (CIDR)",
    "MAC address": "adresa MAC",
    "proxy user name": "nume de utilizator proxy",
    "No device is named yet: every device gets the default profile.":
        "Niciun dispozitiv nu este numit încă: toate primesc profilul implicit.",
    "Seen in the last day, not named": "Văzute în ultima zi, fără nume",
    "Give it a profile": "Dați-i un profil",
    "name, e.g. anna-tablet": "nume, de ex. tableta-anei",
    "Every device seen in the last day is named.": "Toate dispozitivele văzute în ultima zi sunt numite.",
    "Add a device": "Adaugă un dispozitiv",
    "Address, network, MAC address or user name": "Adresă, rețea, adresă MAC sau nume de utilizator",
    "Name (optional)": "Nume (opțional)",
    "Groups (optional, separated by commas)": "Grupuri (opțional, separate prin virgulă)",
    "Groups:": "Grupuri:",
    "Choose how the device is recognised.": "Alegeți cum este recunoscut dispozitivul.",
    "Write the device's address, network, MAC address or user name.":
        "Scrieți adresa, rețeaua, adresa MAC sau numele de utilizator al dispozitivului.",
    "Write an IP address such as 192.168.1.23.": "Scrieți o adresă IP, de exemplu 192.168.1.23.",
    "Schedules": "Programe",
    "In each window the whole internet, or only the chosen categories, is blocked. A window that ends earlier than it starts goes past midnight (21:00 to 07:00).":
        "În fiecare interval se blochează tot internetul sau doar categoriile alese. Un interval "
        "care se termină mai devreme decât începe trece de miezul nopții (21:00 - 07:00).",
    "Days": "Zile",
    "To": "Până la",
    "What is blocked": "Ce se blochează",
    "No schedule: the profile's rules apply at every hour.":
        "Niciun program: regulile profilului se aplică la orice oră.",
    "Add a schedule": "Adaugă un program",
    "What is blocked (none ticked: the whole internet)":
        "Ce se blochează (nimic bifat: tot internetul)",
    "Give the schedule a name, such as bedtime.": "Dați programului un nume, de exemplu culcare.",
    "Choose at least one day.": "Alegeți cel puțin o zi.",
    "mon": "lun", "tue": "mar", "wed": "mie", "thu": "joi", "fri": "vin", "sat": "sâm",
    "sun": "dum",
    "Choose en or ro.": "Alegeți en sau ro.",
    "Group {name} saved; the proxy applies it within seconds.":
        "Grupul {name} a fost salvat; proxy-ul îl aplică în câteva secunde.",
    "Rules shared by many devices: a class, a year, the whole school. A device is in the groups its entry names and in every group whose networks hold its address; the most specific rule wins.":
        "Reguli comune pentru multe dispozitive: o clasă, un an, toată școala. Un dispozitiv "
        "este în grupurile numite în intrarea lui și în fiecare grup ale cărui rețele îi conțin "
        "adresa; regula cea mai specifică are câștig de cauză.",
    "Group": "Grup",
    "Networks": "Rețele",
    "No groups yet.": "Niciun grup încă.",
    "New group": "Grup nou",
    "Networks (one per line, such as 10.20.5.0/24)": "Rețele (câte una pe rând, de ex. 10.20.5.0/24)",
    "Use letters, digits, '_', '-' and '.' only, such as class-5b.":
        "Folosiți doar litere, cifre, '_', '-' și '.', de exemplu clasa-5b.",
    "WireGuard tunnel": "tunel WireGuard",
}

_TABLES = {"ro": RO}


def translate(language: str, text: str, **values: object) -> str:
    out = _TABLES.get(language, {}).get(text, text)
    return out.format(**values) if values else out
