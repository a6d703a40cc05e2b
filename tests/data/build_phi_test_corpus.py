"""Write the held-out PHI test corpus (tests/data/phi_corpus_test.jsonl). Run once; never re-run to fit.

This file was written, and its output generated, before the scrubber was tuned on the dev part.
Names, places and streets come from Faker and Mimesis (not from the Census lists in
``codedesk/phi/data/names.txt`` that the scrubber uses), in several locales, with the case, order and
spelling variations coders type. Clinical terms to keep are a hand-written list of eponyms, drugs,
anatomy, stages and lab values plus ICD-10-CM codes drawn at random from simple-icd-10-cm.

Needs faker==40.54.0, mimesis==22.2.0 and simple-icd-10-cm==1.5.0 (build time only, not project
dependencies): ``python tests/data/build_phi_test_corpus.py > tests/data/phi_corpus_test.jsonl``.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata

import simple_icd_10_cm as cm
from faker import Faker
from mimesis import Address, Person
from mimesis.locales import Locale

SEED = 20261203
rng = random.Random(SEED)
Faker.seed(SEED)
FAKERS = [
    Faker(loc)
    for loc in (
        "en_US",
        "en_US",
        "en_US",
        "es_MX",
        "en_IN",
        "vi_VN",
        "nl_NL",
        "fr_FR",
        "it_IT",
        "pl_PL",
        "de_DE",
        "en_IE",
        "en_NG",
        "tr_TR",
    )
]
M_PERSON = Person(Locale.EN, seed=SEED)
M_ADDR = Address(Locale.EN, seed=SEED)


def ascii_fold(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def first() -> str:
    if rng.random() < 0.3:
        return M_PERSON.first_name()
    return ascii_fold(rng.choice(FAKERS).first_name())


def last() -> str:
    if rng.random() < 0.3:
        return M_PERSON.last_name()
    return ascii_fold(rng.choice(FAKERS).last_name())


def name(style: str | None = None) -> str:
    """A person's name as a coder might type it."""
    style = style or rng.choice(
        ["fl", "fl", "FL", "lf", "l,f", "LF", "f", "fml", "hyph", "particle", "oapos", "fl", "f"]
    )
    f, l_ = first(), last()
    if style == "fl":
        return f"{f} {l_}"
    if style == "FL":
        return f"{f} {l_}".upper()
    if style == "lf":
        return f"{l_} {f}"
    if style == "l,f":
        return f"{l_}, {f}"
    if style == "LF":
        return f"{l_} {f}".upper()
    if style == "f":
        return f
    if style == "fml":
        return f"{f} {rng.choice('ABCDEJKLMRST')}. {l_}"
    if style == "hyph":
        return f"{f} {l_}-{last()}"
    if style == "particle":
        return f"{f} {rng.choice(['van', 'de', 'van der', 'de la', 'del', 'von', 'di', 'da', 'bin', 'al-'])}{'' if False else ' '}{l_}".replace(
            "al- ", "al-"
        )
    if style == "oapos":
        return f"{f} O'{l_}" if rng.random() < 0.5 else f"{f} Mc{l_}"
    raise ValueError(style)


TITLES = ["Mr.", "Mrs.", "Ms.", "Mr", "Mrs", "Dr.", "MR.", "MRS."]

UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]


def age_words(n: int) -> str:
    if n < 100:
        return "ninety" + ("" if n == 90 else rng.choice(["-", " "]) + UNITS[n - 90])
    rest = n - 100
    head = "one hundred" + rng.choice([" and ", " "])
    if rest == 0:
        return "one hundred"
    if rest < 10:
        return head + UNITS[rest]
    return head + TEENS[rest - 10]


MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def ordinal(d: int) -> str:
    return f"{d}{'th' if 10 <= d % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(d % 10, 'th')}"


def date() -> str:
    d, m, y = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1925, 2026)
    mon = MONTHS[m - 1]
    style = rng.randrange(14)
    return [
        f"{mon} {ordinal(d)}",
        f"{mon.lower()} {ordinal(d)} {y}",
        f"{ordinal(d)} of {mon}",
        f"the {ordinal(d)} of {mon.lower()}",
        f"{m}/{d}/{y}",
        f"{m:02d}/{d:02d}/{y % 100:02d}",
        f"{y}-{m:02d}-{d:02d}",
        f"{d} {mon[:3]} {y}",
        f"{mon[:3].upper()} {d}",
        f"{m}/{d}",
        f"{mon} {d}, {y}",
        f"{d}-{mon[:3]}-{y}",
        f"{mon.upper()} {ordinal(d).upper()}",
        f"{d}.{m}.{y}",
    ][style]


def phone() -> str:
    a, b, c = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    return rng.choice(
        [
            f"({a}) {b}-{c:04d}",
            f"{a}.{b}.{c:04d}",
            f"{a}{b}{c:04d}",
            f"+1 {a} {b} {c:04d}",
            f"{a} {b} {c:04d}",
            f"({a}){b}-{c:04d}",
            f"1-{a}-{b}-{c:04d}",
            f"{a}-{b}-{c:04d}",
            f"+1-{a}-{b}-{c:04d}",
            f"{a}/{b}-{c:04d}",
        ]
    )


def alnum(n: int, letters: bool = True) -> str:
    chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789" if letters else "0123456789"
    s = "".join(rng.choice(chars) for _ in range(n))
    return s if any(c.isdigit() for c in s) else s[:-1] + "7"


def ssn() -> str:
    a, b, c = rng.randint(100, 899), rng.randint(10, 99), rng.randint(1000, 9999)
    return rng.choice([f"{a}-{b}-{c}", f"{a} {b} {c}", f"{a}{b}{c}"])


def street() -> str:
    return (
        f"{rng.randint(1, 9999)} {rng.choice(['', 'N ', 'S. ', 'West ', ''])}{M_ADDR.street_name()} "
        f"{rng.choice(['St', 'Street', 'Ave', 'Avenue', 'Rd', 'Road', 'Blvd', 'Lane', 'Dr', 'Drive', 'Court', 'Way', 'Pl'])}"
    )


def city() -> str:
    return M_ADDR.city()


def state() -> str:
    return M_ADDR.state(abbr=rng.random() < 0.7)


def zip_code() -> str:
    return (
        M_ADDR.zip_code()
        if rng.random() < 0.8
        else f"{M_ADDR.zip_code()}-{rng.randint(1000, 9999)}"
    )


def email() -> str:
    f, l_ = (
        ascii_fold(first()).lower(),
        ascii_fold(last()).lower().replace(" ", "").replace("'", ""),
    )
    return f"{rng.choice([f + '.' + l_, f[0] + l_, l_ + str(rng.randint(1, 99))])}@{rng.choice(['gmail.com', 'yahoo.com', 'hospital.org', 'mail.example.net', 'outlook.com'])}"


def url() -> str:
    return rng.choice(
        [
            f"https://mychart.{last().lower().replace(' ', '')}health.org/pt/{rng.randint(10000, 99999)}",
            f"www.{last().lower().replace(' ', '')}family.com/{first().lower()}",
            f"http://10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}/ehr?id={rng.randint(1000, 99999)}",
            f"portal.clinic{rng.randint(1, 99)}.net/chart/{rng.randint(100000, 999999)}",
        ]
    )


def ip() -> str:
    if rng.random() < 0.25:
        return (
            f"fe80::{rng.randint(0, 65535):x}:{rng.randint(0, 65535):x}:{rng.randint(0, 65535):x}"
        )
    return f"{rng.choice([10, 172, 192, 64, 203])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


# --- clinical terms that must be kept ------------------------------------------------------------

CLINICAL = """Cushing syndrome|Graves disease|Addison's disease|Bell's palsy|Down syndrome|Meniere's disease|
Alzheimer's dementia|Hodgkin lymphoma|non-Hodgkin lymphoma|Parkinson's disease|Crohn's disease|Guillain-Barre syndrome|
Hashimoto thyroiditis|Sjogren syndrome|Tourette syndrome|Raynaud phenomenon|Marfan syndrome|Kaposi sarcoma|Wilms tumor|
Ewing sarcoma|Paget disease of bone|Barrett esophagus|Dupuytren contracture|Baker's cyst|Colles fracture|Smith fracture|
Jones fracture|Lyme disease|Reye syndrome|Kawasaki disease|Charcot foot|Wernicke encephalopathy|Korsakoff psychosis|
Huntington's disease|Tay-Sachs disease|Turner syndrome|Klinefelter syndrome|Asperger syndrome|Hirschsprung disease|
von Willebrand disease|Ehlers-Danlos syndrome|Stevens-Johnson syndrome|Osgood-Schlatter disease|Wolff-Parkinson-White|
Budd-Chiari syndrome|Arnold-Chiari malformation|Mallory-Weiss tear|Zollinger-Ellison syndrome|Henoch-Schonlein purpura|
Meckel diverticulum|Still's disease|Burkitt lymphoma|Waldenstrom macroglobulinemia|Legionnaires disease|Bartholin cyst|
Achilles tendon|Eustachian tube|Fallopian tube|rotator cuff|left femur|right hip|distal radius|sacrum|L4-L5|C5-C6|
mitral valve|aortic stenosis|carotid artery|tibial plateau|patella|lumbar spine|metformin|Eliquis|apixaban|warfarin|
Coumadin|insulin glargine|Lantus|Ozempic|semaglutide|lisinopril|Lasix|furosemide|prednisone|Humira|Keytruda|
pembrolizumab|Xarelto|Plavix|atorvastatin|levothyroxine|Synthroid|oxycodone|Narcan|Zoloft|sertraline|Depakote|
Keppra|Lyrica|Neurontin|gabapentin|Entresto|Jardiance|Farxiga|Trulicity|Mounjaro|digoxin|amiodarone|heparin|Lovenox|
vancomycin|Zosyn|Rocephin|Bactrim|Augmentin|albuterol|Spiriva|Symbicort|methotrexate|Remicade|Stelara|Dupixent|
tramadol|fentanyl|Dilaudid|Ativan|Xanax|Haldol|Seroquel|Abilify|lithium|Aricept|donepezil|Namenda|Sinemet|Botox|
A1c 9.2|eGFR 28|INR 3.1|BMI 42|troponin 0.45|potassium 5.9|Hgb 7.1|creatinine 2.4|BP 182/110|SpO2 88%|CKD stage 4|
CKD stage 3b|type 2|type 1|NYHA class III|GOLD 3|grade 2|stage IV|T2N1M0|FY2027|FY2026|E11.22|N18.32|QA171|T36.0X1A|
I50.22|J44.1|Z79.4|99214|G0438|J1815|0DTJ4ZZ|sepsis|CHF|COPD|ESRD|HTN|DVT|PE|MI|CVA|TIA|AKI|UTI|GERD|OSA|MRSA|NSTEMI|
hip fracture|pressure ulcer|diabetic foot ulcer|heart failure|major depressive disorder|schizophrenia|cellulitis|
pneumonia|osteoarthritis|rheumatoid arthritis|lupus|multiple sclerosis|ALS|Lou Gehrig disease|Grave's disease|
Cushing's|Addison|Parkinsonism|Alzheimer|Hodgkin's|Crohn|Bell palsy|Meniere disease""".replace(
    "\n", ""
).split("|")

CODES = [c for c in cm.get_all_codes(with_dots=True) if cm.is_leaf(c)]


def code() -> str:
    return rng.choice(CODES)


def clin() -> str:
    return rng.choice(CLINICAL)


# --- templates: (text with {slots}, which slots are identifiers) ---------------------------------
# Slots: N name, T title+surname, A age in digits, W age in words, D date, P phone, F fax, E email,
# U url, I ip, S ssn, R street, C city, Z zip, ST state (kept: a state is allowed), M mrn, ACC account,
# PLAN plan/member, LIC license, DEV device serial, VIN vehicle, K clinical term, X code

TEMPLATES = [
    "{N} has {K}, is {X} right?",
    "{N} seen today for {K} — {X} or something else?",
    "pt {N}, {A} y/o, {K}; coding {X}?",
    "{T} came in with {K}. {X}?",
    "{N}, {A}+ y/o with {K} ({X})",
    "{W} year old with {K}, does {X} need a 7th character?",
    "aged {W}, {K}, can I use {X}?",
    "patient is {W}, {K}: {X}",
    "dob {D}, {K}, {X} billable?",
    "DOS {D} for {K}: {X}",
    "admitted {D} with {K}, discharged {D2}; {X}?",
    "{N} lives at {R} {C} {ST} {Z}, {K}, which code {X}?",
    "lives at {R}, {C}, {ST} {Z} — {K}: {X}",
    "pt from {C} {ST} {Z} with {K}; {X}?",
    "MRN {M} {K}, {X}?",
    "mrn: {M} - {K} - is {X} ok",
    "acct # {ACC}, {K}, {X} denied",
    "account number {ACC} denied for {X} ({K})",
    "member id {PLAN}, plan says {X} for {K} needs auth",
    "health plan number {PLAN}; {K} {X}",
    "driver license {LIC}, passenger in MVC with {K}, {X}?",
    "DL# {LIC} on file; {K}: {X}",
    "pacemaker serial number {DEV} — {K}, {X}?",
    "device serial {DEV}, {K}",
    "VIN {VIN}, car crash, {K} {X}",
    "license plate {VIN2} hit pedestrian; {K}, {X}",
    "call {N} at {P} about {K} {X}",
    "fax op note to {F}, {K}, {X}",
    "cell {P} — {K}: {X}",
    "email {E} re {K} {X}",
    "results at {U}: {K}, {X}",
    "from workstation {I}: {K} {X}?",
    "SSN {S}: {K}, {X}",
    "ssn: {S} {K} -> {X}?",
    "{N} ({A} yo) {K}, {X} vs {X2}?",
    "{NF} has {K}, {X}?",
    "{NF} was admitted for {K}; {X}?",
    "Saw {NF} for {K}: {X}",
    "{NUP} HAS {K}, {X}?",
    "{NREV} seen today for {K}; {X}?",
    "{T}, age {A}, {K}. {X}",
    "{K} in {N} born {D}: {X}",
    "Q: {N} {A}yo F w/ {K} — {X}? DOB {D}",
    "my pt {N} ({D}) with {K}, {X} plus {X2}?",
    "{NHYPH} - {K} {X}",
    "{NPART} has {K}: {X} correct?",
    "{T} ({W} years old), {K}, {X}",
    "{N} {K} {X} {P}",
    "{K} {X}. Pt {N} {C}, {ST}",
    "Is {X} right for {K}? ({N}, {D}, MRN {M})",
]


def fill(template: str) -> dict:
    phi: list[str] = []
    keep: list[str] = []

    def slot(key: str) -> str:
        base = key if key == "VIN2" else key.rstrip("2")
        if base == "N":
            v = name()
        elif base == "NF":
            v = first()
        elif base == "NUP":
            v = name("FL")
        elif base == "NREV":
            v = name(rng.choice(["lf", "LF"]))
        elif base == "NHYPH":
            v = name("hyph")
        elif base == "NPART":
            v = name(rng.choice(["particle", "oapos"]))
        elif base == "T":
            t, l_ = (
                rng.choice(TITLES),
                rng.choice([last(), last(), f"O'{last()}".upper(), f"{last()}-{last()}"]),
            )
            phi.append(l_)
            return f"{t} {l_}"
        elif base == "A":
            v = str(rng.randint(90, 112))
        elif base == "W":
            v = age_words(rng.randint(90, 119))
        elif base == "D":
            v = date()
        elif base == "P":
            v = phone()
        elif base == "F":
            v = phone()
        elif base == "E":
            v = email()
        elif base == "U":
            v = url()
        elif base == "I":
            v = ip()
        elif base == "S":
            v = ssn()
        elif base == "R":
            v = street()
        elif base == "C":
            v = city()
        elif base == "Z":
            v = zip_code()
        elif base == "ST":
            return state()  # a state is not an identifier under Safe Harbor
        elif base == "M":
            v = rng.choice([alnum(8, False), alnum(7), "E" + alnum(9, False)])
        elif base == "ACC":
            v = alnum(rng.randint(6, 12), rng.random() < 0.4)
        elif base == "PLAN":
            v = rng.choice(["W", "XJH", "ZGP", ""]) + alnum(9, False)
        elif base == "LIC":
            v = rng.choice(
                [
                    f"D{rng.randint(100, 999)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
                    alnum(8),
                    f"{rng.choice('ABCFGKLMPS')}{rng.randint(1000000, 9999999)}",
                ]
            )
        elif base == "DEV":
            v = rng.choice(["PJN", "RNB", "SN", "X"]) + alnum(7, False) + rng.choice(["", "H", "S"])
        elif base == "VIN":
            v = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(17))
        elif base == "VIN2":
            v = f"{alnum(3)}-{rng.randint(1000, 9999)}"
        elif base == "K":
            v = clin()
            keep.append(v)
            return v
        elif base == "X":
            v = code()
            keep.append(v)
            return v
        else:
            raise KeyError(key)
        phi.append(v)
        return v

    text = re.sub(r"\{(\w+)\}", lambda m: slot(m.group(1)), template)
    return {"question": text, "phi": phi, "keep": keep}


def main() -> None:
    cases = []
    for i in range(6):  # each template six times, with fresh values
        for t in TEMPLATES:
            case = fill(t)
            if i == 5 and rng.random() < 0.5:  # a share typed all in lower case
                case = {
                    "question": case["question"].lower(),
                    "phi": [p.lower() for p in case["phi"]],
                    "keep": [k.lower() for k in case["keep"]],
                }
            cases.append(case)
    for c in cases:
        print(json.dumps(c, ensure_ascii=False))


if __name__ == "__main__":
    main()
