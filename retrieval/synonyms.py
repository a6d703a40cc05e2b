"""Clinical shorthand and older terminology, written by the team from everyday coding desk usage.

ABBREVIATIONS expand one token of a question; PHRASES rewrite multi-word expressions; FOLDS map a
word to the word the Tabular List uses (applied to documents and questions alike, so they must
never merge two different concepts).
"""

from __future__ import annotations

import re

ABBREVIATIONS: dict[str, str] = {
    # diabetes and endocrine
    "dm": "diabetes mellitus", "dm1": "type 1 diabetes mellitus", "dm2": "type 2 diabetes mellitus",
    "t1dm": "type 1 diabetes mellitus", "t2dm": "type 2 diabetes mellitus", "iddm": "type 1 diabetes mellitus",
    "niddm": "type 2 diabetes mellitus", "t1d": "type 1 diabetes mellitus", "t2d": "type 2 diabetes mellitus",
    "gdm": "gestational diabetes mellitus", "dka": "diabetic ketoacidosis", "hhs": "hyperosmolarity",
    "hypothyroid": "hypothyroidism", "hyperthyroid": "hyperthyroidism",
    # kidney and urinary
    "ckd": "chronic kidney disease", "esrd": "end stage renal disease", "aki": "acute kidney failure",
    "arf": "acute kidney failure", "uti": "urinary tract infection", "bph": "benign prostatic hyperplasia",
    "luts": "lower urinary tract symptoms",
    # heart and vessels
    "htn": "hypertension", "hcvd": "hypertensive heart disease", "chf": "congestive heart failure",
    "hf": "heart failure", "hfref": "systolic heart failure", "hfpef": "diastolic heart failure",
    "cad": "coronary artery disease", "ashd": "atherosclerotic heart disease", "mi": "myocardial infarction",
    "ami": "acute myocardial infarction", "stemi": "st elevation myocardial infarction",
    "nstemi": "non st elevation myocardial infarction", "afib": "atrial fibrillation",
    "af": "atrial fibrillation", "aflutter": "atrial flutter", "svt": "supraventricular tachycardia",
    "vtach": "ventricular tachycardia", "dvt": "deep vein thrombosis", "pe": "pulmonary embolism",
    "pvd": "peripheral vascular disease", "pad": "peripheral arterial disease", "cabg": "coronary artery bypass",
    "aaa": "abdominal aortic aneurysm", "tia": "transient ischemic attack", "cva": "cerebral infarction",
    "ich": "intracerebral hemorrhage", "sah": "subarachnoid hemorrhage", "lvh": "left ventricular hypertrophy",
    # lungs
    "copd": "chronic obstructive pulmonary disease", "aecopd": "chronic obstructive pulmonary disease with acute exacerbation",
    "uri": "upper respiratory infection", "cap": "pneumonia", "osa": "obstructive sleep apnea",
    "ards": "acute respiratory distress syndrome", "sob": "shortness of breath", "rsv": "respiratory syncytial virus",
    "tb": "tuberculosis", "covid": "covid 19", "covid19": "covid 19", "sars": "severe acute respiratory syndrome",
    # digestive
    "gerd": "gastro esophageal reflux disease", "gi": "gastrointestinal", "ibs": "irritable bowel syndrome",
    "ibd": "inflammatory bowel disease", "uc": "ulcerative colitis", "pud": "peptic ulcer disease",
    "nafld": "nonalcoholic fatty liver disease", "nash": "nonalcoholic steatohepatitis",
    "gib": "gastrointestinal hemorrhage", "sbo": "small intestine obstruction",
    # nervous, mental
    "als": "amyotrophic lateral sclerosis", "tbi": "traumatic brain injury",
    "adhd": "attention deficit hyperactivity disorder",     "mdd": "major depressive disorder", "gad": "generalized anxiety disorder", "ptsd": "post traumatic stress disorder",
    "ocd": "obsessive compulsive disorder", "aud": "alcohol dependence",
    "etoh": "alcohol", "oud": "opioid dependence", "sz": "seizure", "loc": "loss of consciousness",
    # musculoskeletal, injury
    "oa": "osteoarthritis", "djd": "osteoarthritis", "ra": "rheumatoid arthritis", "fx": "fracture",
    "fxs": "fracture", "lbp": "low back pain", "sle": "systemic lupus erythematosus", "acl": "anterior cruciate ligament",
    "mva": "motor vehicle accident", "mvc": "motor vehicle collision", "gsw": "gunshot wound",
    # infections, blood, neoplasm
    "hiv": "human immunodeficiency virus", "aids": "human immunodeficiency virus disease",
    "mrsa": "methicillin resistant staphylococcus aureus", "mssa": "methicillin susceptible staphylococcus aureus",
    "cdiff": "clostridium difficile", "hpv": "human papillomavirus", "hcv": "hepatitis c", "hbv": "hepatitis b",
    "ca": "malignant neoplasm", "cancer": "malignant neoplasm", "ida": "iron deficiency anemia",
    "cll": "chronic lymphocytic leukemia", "aml": "acute myeloid leukemia",     "nhl": "non hodgkin lymphoma", "mets": "secondary malignant neoplasm", "dcis": "ductal carcinoma in situ",
    # pregnancy, newborn, misc
    "iup": "intrauterine pregnancy", "ga": "gestational age", "wks": "weeks", "wk": "weeks", "g1p0": "primigravida",
    "nsvd": "spontaneous vaginal delivery", "pprom": "preterm premature rupture of membranes",
    "prom": "premature rupture of membranes", "rds": "respiratory distress syndrome",
    "bmi": "body mass index", "hx": "history", "h/o": "history", "fhx": "family history", "s/p": "status post",
    "r/o": "rule out", "yo": "year old", "y/o": "year old", "bilat": "bilateral", "lt": "left", "rt": "right",
    "unsp": "unspecified", "nos": "unspecified", "w": "with", "wo": "without",
    "init": "initial", "subs": "subsequent", "subseq": "subsequent", "enc": "encounter", "sequelae": "sequela",
    "ppx": "prophylaxis", "tx": "treatment", "sx": "symptoms", "abd": "abdominal", "lle": "left lower limb",
    "rle": "right lower limb", "lue": "left upper limb", "rue": "right upper limb", "le": "lower limb",
    "ue": "upper limb", "rlq": "right lower quadrant", "llq": "left lower quadrant", "ruq": "right upper quadrant",
    "luq": "left upper quadrant", "cts": "carpal tunnel syndrome", "hld": "hyperlipidemia",
    "strep": "streptococcal", "staph": "staphylococcal", "uncomplicated": "without complications",
}

# (pattern, replacement) over the lower-cased text, before tokenising.
_PHRASES: list[tuple[str, str]] = [
    (r"\br/o\b", "rule out"), (r"\bh/o\b", "history of"), (r"\bs/p\b", "status post"),
    (r"\by/o\b", "year old"), (r"\bc/o\b", "complains of"),
    (r"\bcongestive heart failure\b", "heart failure"),
    (r"\badult[ -]onset diabetes( mellitus)?\b", "type 2 diabetes mellitus"),
    (r"\bjuvenile[ -]onset diabetes( mellitus)?\b|\bjuvenile diabetes( mellitus)?\b", "type 1 diabetes mellitus"),
    (r"\binsulin[ -]dependent diabetes( mellitus)?\b", "type 1 diabetes mellitus"),
    (r"\bnon[ -]insulin[ -]dependent diabetes( mellitus)?\b", "type 2 diabetes mellitus"),
    (r"\btype (ii|two)\b", "type 2"), (r"\btype (i|one)\b", "type 1"),
    (r"\bstage (iii|three)\b", "stage 3"), (r"\bstage (iv|four)\b", "stage 4"), (r"\bstage (ii|two)\b", "stage 2"),
    (r"\bstage (v|five)\b", "stage 5"), (r"\bstage (i|one)\b", "stage 1"),
    (r"\bheart attack\b", "acute myocardial infarction"),
    (r"\b(r|rt)\b(?![/.])", "right"), (r"\b(l|lt)\b(?![/.])", "left"),
    (r"\b(?:no|w/o|without)\b", "without"),
    (r"\b(\w+) not (?:identified|specified|documented|stated)\b", r"unspecified \1"),
    (r"\bunknown (\w+)\b", r"unspecified \1"),
    (r"\b(?:poorly|inadequately|out of) control(?:led)?\b|\buncontrolled\b|\bsugars? (?:running )?high\b",
     "with hyperglycemia"),
    (r"\bstrep throat\b", "streptococcal pharyngitis"),
    (r"\bcold sores?\b|\bfever blisters?\b", "herpesviral vesicular dermatitis"),
    (r"\bpost[- ]?concussion(?:al)?\b", "postconcussional"),
    (r"\bblood thinners?\b", "anticoagulants"), (r"\bwater pills?\b", "diuretics"),
    (r"\bpinched nerve\b", "radiculopathy"), (r"\bslipped dis[ck]\b", "intervertebral disc displacement"), (r"\bstroke\b", "cerebral infarction"),
    (r"\bhigh blood pressure\b", "hypertension"), (r"\bhigh cholesterol\b", "hypercholesterolemia"),
    (r"\bsugar diabetes\b", "diabetes mellitus"), (r"\bkidney failure\b", "kidney failure"),
    (r"\bbroken\b", "fracture"), (r"\bbreak\b", "fracture"), (r"\bpink eye\b", "conjunctivitis"),
    (r"\bwater on the brain\b", "hydrocephalus"), (r"\bblood clot\b", "thrombosis"),
    (r"\bsenile dementia\b", "dementia"), (r"\bhardening of the arteries\b", "atherosclerosis"),
    (r"\bbedsore\b|\bdecubitus ulcer\b|\bdecubitus\b|\bpressure sore\b", "pressure ulcer"),
    (r"\bmental retardation\b", "intellectual disabilities"), (r"\bmongolism\b", "down syndrome"),
    (r"\bmanic[ -]depressive\b", "bipolar"), (r"\bgrippe\b", "influenza"), (r"\bflu\b", "influenza"),
    (r"\bheartburn\b", "reflux"), (r"\bshingles\b", "zoster"), (r"\bchickenpox\b", "varicella"),
    (r"\bmono\b", "mononucleosis"), (r"\block ?jaw\b", "tetanus"),
    (r"\bend[ -]stage renal disease\b", "end stage renal disease"),
    (r"\b(suicide|suicidal) attempt\b|\battempted suicide\b", "intentional self harm"),
    (r"\bboth (sides|knees|eyes|ears|hips|legs|arms|feet|hands|lungs|breasts)\b", r"bilateral \1"),
    (r"\bexacerbation\b|\bflare\b", "exacerbation"), (r"\bae\b", "acute exacerbation"),
    (r"\bfirst[ -]time\b", "initial"), (r"\bfollow[ -]up\b", "subsequent"),
    (r"\bnon[ -]?st[ -]elevation\b", "non st elevation"),
    (r"\blarge intestine\b", "large intestine colon"),  # Z85.03- says "large intestine"; coders say colon
    (r"\bpre[ -]?eclampsia\b", "pre eclampsia"), (r"\bpre[ -]?eclamptic\b", "pre eclampsia"),
]
PHRASES = [(re.compile(p), r) for p, r in _PHRASES]

FOLDS: dict[str, str] = {
    "renal": "kidney", "nephric": "kidney", "cardiac": "heart", "hepatic": "liver", "gastric": "stomach",
    "cerebral": "brain", "cutaneous": "skin", "dermal": "skin", "ocular": "eye", "optic": "eye", "otic": "ear",
    "femoral": "femur", "tibial": "tibia", "fibular": "fibula", "humeral": "humerus", "radial": "radius",
    "ulnar": "ulna", "pelvic": "pelvis", "vertebral": "vertebra", "vertebrae": "vertebra", "costal": "rib",
    "ribs": "rib", "pulmonic": "pulmonary", "colonic": "colon", "rectal": "rectum",
    "anal": "anus", "uterine": "uterus", "ovarian": "ovary", "prostatic": "prostate", "vesical": "bladder",
    "urethral": "urethra", "thyroidal": "thyroid", "splenic": "spleen", "pancreatic": "pancreas",
    "esophageal": "esophagus", "oesophagus": "esophagus", "duodenal": "duodenum", "gingival": "gum",
    "nasal": "nose", "laryngeal": "larynx", "tracheal": "trachea", "bronchial": "bronchus",
    "mammary": "breast", "thoracic": "thorax", "abdominal": "abdomen",     "oral": "mouth", "lingual": "tongue", "dental": "tooth", "teeth": "tooth", "feet": "foot",
    "aortic": "aorta", "venous": "vein", "arterial": "artery", "arteries": "artery", "veins": "vein",
    "haemorrhage": "hemorrhage", "bleeding": "hemorrhage", "bleed": "hemorrhage", "anaemia": "anemia",
    "oedema": "edema", "tumour": "tumor", "paediatric": "pediatric", "diarrhoea": "diarrhea",
    "malignancy": "malignant",     "metastatic": "secondary", "metastasis": "secondary", "metastases": "secondary",
    "kidneys": "kidney", "infarct": "infarction", "arteriosclerotic": "atherosclerotic",
    "arteriosclerosis": "atherosclerosis", "obese": "obesity",     "septicemia": "sepsis", "septic": "sepsis", "diabetic": "diabetes",
    "asthmatic": "asthma", "pneumonic": "pneumonia", "fractured": "fracture", "fractures": "fracture",
    "lacerated": "laceration", "burned": "burn", "burns": "burn", "poisoned": "poisoning",
    "unintentional": "accidental", "accidentally": "accidental",     "overdosed": "poisoning", "overdose": "poisoning",
    "neonatal": "newborn", "neonate": "newborn",
    "infant": "newborn", "pregnant": "pregnancy", "gravid": "pregnancy", "antepartum": "pregnancy",
    "puerperal": "puerperium", "postpartum": "puerperium",
    "painful": "pain", "ache": "pain", "aching": "pain",
    "initially": "initial", "encounters": "encounter", "sequelae": "sequela", }
