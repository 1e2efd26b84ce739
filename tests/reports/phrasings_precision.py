"""Hospital phrasings the labeler once read as findings where the report denies or asks.

Same layout as ``phrasings.py`` (text, expected cells worked out by hand; default coding).
Every row was labeled wrongly by the labeler before the lexical scope cues, the request
sections, the hard-wrap rule and the sign vocabulary (checked against that code).
"""

from __future__ import annotations

from phrasings import (
    ATE,
    CAR,
    CON,
    EDE,
    EFF,
    EMP,
    FIB,
    MAS,
    NOD,
    NRM,
    PLT,
    PNA,
    PTX,
    N,
    P,
    U,
)

NEGATED_LISTS = [  # negation over a list however punctuated; no differential inside it
    ("FINDINGS: No pulmonary edema pleural effusion or pneumothorax.",
     {EDE: N, EFF: N, PTX: N, NRM: 1}),
    ("FINDINGS: No confluent lobar consolidation or pleural effusion.", {CON: N, EFF: N, NRM: 1}),
    ("FINDINGS: No evidence of pulmonary consolidation, large pleural effusion/pneumothorax.",
     {CON: N, EFF: N, PTX: N, NRM: 1}),
    ("FINDINGS: No focal airspace consolidation large pleural effusion or pneumothorax.",
     {CON: N, EFF: N, PTX: N, NRM: 1}),
]

ABSENT = [  # "absent", "absence of", "not seen" after the finding
    ("FINDINGS: Cardiomegaly is absent.", {CAR: N, NRM: 1}),
    ("IMPRESSION: Mild cardiomegaly. Pulmonary edema is absent.", {CAR: P, EDE: N, NRM: 0}),
    ("IMPRESSION: Effusion is absent.", {EFF: N, NRM: 1}),
    ("FINDINGS: Pneumothorax and pleural effusion are absent.", {PTX: N, EFF: N, NRM: 1}),
    ("FINDINGS: Pleural effusions absent.", {EFF: N, NRM: 1}),
    ("IMPRESSION: Cardiomegaly. Edema absent.", {CAR: P, EDE: N, NRM: 0}),
    ("IMPRESSION: Absent pneumothorax.", {PTX: N, NRM: 1}),
]

REQUESTS = [  # requests and indications are no findings
    ("IMPRESSION: Basilar opacity. In the appropriate clinical setting, this is compatible "
     "with pneumonia.", {PNA: U, NRM: 0}),
    ("FINDINGS: Please correlate for pneumonia.", {PNA: U}),
    ("IMPRESSION: Left lower lobe opacity. Clinical correlation for pneumonia is recommended.",
     {PNA: U}),
    ("r/o pneumothorax.", {PTX: U}),
    ("INDICATION: Shortness of breath, evaluate for edema.", {EDE: None, NRM: 1}),
    ("HISTORY: Known right lung mass.", {MAS: None, NRM: 1}),
    ("Reason for exam: pneumothorax?", {PTX: None, NRM: 1}),
    ("CLINICAL INFORMATION: Fever. Rule out pneumonia.", {PNA: None, NRM: 1}),
    ("IMPRESSION: Right basilar airspace disease. Please correlate clinically for pneumonia.",
     {PNA: U, NRM: 0}),
    ("IMPRESSION: Opacity at the left base, correlate clinically for pneumonia.", {PNA: U, NRM: 0}),
    ("Pt presents for r/o of pneumonia.", {PNA: U}),
    ("r/o pneumonia", {PNA: U}),
    ("IMPRESSION: Suspect pneumonia in the right lung.", {PNA: U, NRM: 0}),
    ("Indication: cough and fever, r/o pneumonia.", {PNA: None, NRM: 1}),
    ("History: pneumonia.", {PNA: None, NRM: 1}),
    ("REASON FOR EXAM: Evaluate for pneumothorax after line placement.", {PTX: None, NRM: 1}),
    ("CLINICAL HISTORY: Effusion.\nCOMPARISON: None.", {EFF: None, NRM: 1}),
    ("Chest x-ray for pneumonia.", {PNA: U}),
]

WRAPPED = [  # text as hospitals store it: hard-wrapped, upper case, numbered, no periods
    ("INDICATION: Pneumonia.\nThe lungs are clear.", {PNA: None, NRM: 1}),
    ("FINDINGS: No focal\nconsolidation.", {CON: N, NRM: 1}),
    ("FINDINGS: No pleural\neffusion or pneumothorax.", {EFF: N, PTX: N, NRM: 1}),
    ("FINDINGS: There is no evidence of\npneumothorax.", {PTX: N, NRM: 1}),
    ("FINDINGS: Lungs are\nhyperinflated.", {EMP: U, NRM: 0}),
    ("FINDINGS: There is no\npneumothorax.", {PTX: N, NRM: 1}),
    ("FINDINGS: The lungs are clear without\nfocal consolidation or pleural\neffusion.",
     {CON: N, EFF: N, NRM: 1}),
    ("IMPRESSION: NO FOCAL CONSOLIDATION OR\nPLEURAL EFFUSION. MILD CARDIOMEGALY",
     {CON: N, EFF: N, CAR: P, NRM: 0}),
    ("FINDINGS: The heart is enlarged. There is no focal consolidation,\npleural effusion "
     "or pneumothorax.", {CAR: P, CON: N, EFF: N, PTX: N, NRM: 0}),
]

SIGNS = [  # findings named by their sign (radiology lexicon)
    ("FINDINGS: Blunted costophrenic angles.", {EFF: U, NRM: 0}),
    ("FINDINGS: The costophrenic angles are blunted.", {EFF: U, NRM: 0}),
    ("FINDINGS: Hyperinflation.", {EMP: U, NRM: 0}),
    ("FINDINGS: Flattening of the diaphragms.", {EMP: U, NRM: 0}),
    ("FINDINGS: Biapical bullae.", {EMP: U, NRM: 0}),
    ("FINDINGS: Nodular densities in both lungs.", {NOD: P, NRM: 0}),
    ("FINDINGS: A coin lesion in the left upper lobe.", {NOD: P, NRM: 0}),
    ("FINDINGS: Volume loss in the left lower lobe.", {ATE: U, NRM: 0}),
    ("FINDINGS: Septal lines at the bases.", {EDE: U, NRM: 0}),
    ("FINDINGS: Honeycombing at the lung bases.", {FIB: P, NRM: 0}),
    ("FINDINGS: Deep sulcus sign on the left.", {PTX: U, NRM: 0}),
    ("FINDINGS: Pleural plaques bilaterally.", {PLT: P, NRM: 0}),
    ("FINDINGS: Blunting of the left costophrenic angle.", {EFF: U, NRM: 0}),
    ("IMPRESSION: Mild right costophrenic angle blunting.", {EFF: U, NRM: 0}),
    ("FINDINGS: The lungs are hyperinflated.", {EMP: U, NRM: 0}),
    ("FINDINGS: Hyperexpanded lungs with flattened hemidiaphragms.", {EMP: U, NRM: 0}),
    ("IMPRESSION: Nodular opacity in the right upper lobe.", {NOD: P, NRM: 0}),
    ("FINDINGS: Basilar honeycombing.", {FIB: P, NRM: 0}),
    ("FINDINGS: Calcified pleural plaques.", {PLT: P, NRM: 0}),
    ("FINDINGS: Kerley B lines at both bases.", {EDE: U, NRM: 0}),
    ("FINDINGS: Air bronchograms in the right lower lobe.", {CON: U, NRM: 0}),
    ("FINDINGS: No blunting of the costophrenic angles.", {EFF: N, NRM: 1}),
]

PEER_STYLE = [  # the constructions of NegEx / pyConText / CheXpert-style test sentences
    ("IMPRESSION: No acute disease and stable cardiomegaly.", {CAR: P, NRM: 0}),
    ("IMPRESSION: ? pneumonia", {PNA: U, NRM: 0}),
    ("IMPRESSION: Right lower lobe opacity. Pneumonia?", {PNA: U, NRM: 0}),
    ("The patient denies pneumonia.", {PNA: N}),
    ("IMPRESSION: Chest film fails to reveal pneumothorax.", {PTX: N, NRM: 1}),
    ("IMPRESSION: Ddx includes pneumonia and atelectasis.", {PNA: U, ATE: U, NRM: 0}),
    ("FINDINGS: Cardiomegaly and small effusions are absent.", {CAR: N, EFF: N, NRM: 1}),
    ("IMPRESSION: Equivocal for pneumonia.", {PNA: U, NRM: 0}),
    ("IMPRESSION: Unremarkable for pneumonia.", {PNA: N, NRM: 1}),
    ("r/o pna or effusion", {PNA: U, EFF: U}),
    ("FINDINGS: Pneumothorax: none. Pleural effusion: none.", {PTX: N, EFF: N, NRM: 1}),
    ("FINDINGS: No focal air space opacities to suggest pneumonia.", {PNA: N, NRM: 1}),
]

HISTORY = [  # the patient's past is not a finding of this radiograph
    ("IMPRESSION: History of pneumonia. The lungs are clear.", {PNA: N, NRM: 1}),
    ("FINDINGS: The patient has a history of right upper lobe mass. No acute process.",
     {MAS: N, NRM: 1}),
    ("IMPRESSION: H/o pneumothorax. No pneumothorax now.", {PTX: N, NRM: 1}),
    ("IMPRESSION: Hx of pneumonia, lungs clear.", {PNA: N, NRM: 1}),
    ("IMPRESSION: Prior history of emphysema and pneumonia. Clear lungs.",
     {EMP: N, PNA: N, NRM: 1}),
    ("IMPRESSION: Patient with a history of pneumothorax. Lungs clear.", {PTX: N, NRM: 1}),
    ("IMPRESSION: Small effusion, which has since resolved.", {EFF: N}),
    ("IMPRESSION: No longer any evidence of pneumonia.", {PNA: N, NRM: 1}),
    ("IMPRESSION: Pneumonia in the past. Clear lungs now.", {PNA: N, NRM: 1}),
    ("IMPRESSION: Near complete resolution of the left pleural effusion.", {EFF: P, NRM: 0}),
    ("FINDINGS: The heart is not enlarged. The lungs are clear.", {CAR: N, NRM: 1}),
]

HEDGES = [  # "likely", "favored", "consider", "unclear whether": no assertion (default coding)
    ("IMPRESSION: Bibasilar opacities, likely atelectasis.", {ATE: U, NRM: 0}),
    ("IMPRESSION: Likely right lower lobe pneumonia.", {PNA: U, NRM: 0}),
    ("IMPRESSION: Opacity most likely represents atelectasis.", {ATE: U, NRM: 0}),
    ("IMPRESSION: Atelectasis is likely.", {ATE: U, NRM: 0}),
    ("IMPRESSION: Opacity in the lingula favored to represent atelectasis.", {ATE: U, NRM: 0}),
    ("IMPRESSION: Airspace opacity, favored as atelectasis.", {ATE: U, NRM: 0}),
    ("IMPRESSION: Consider pneumonia.", {PNA: U, NRM: 0}),
    ("IMPRESSION: It is unclear whether there is pneumonia.", {PNA: U, NRM: 0}),
    ("Test for pneumonia.", {PNA: U}),
    ("IMPRESSION: Pneumonia less likely.", {PNA: U, NRM: 0}),
    ("IMPRESSION: Atelectasis more likely than pneumonia.", {ATE: U, PNA: U, NRM: 0}),
]

WITH_A_SIZE = [  # "no X with small Y": a denied finding has no size; Y is stated
    ("IMPRESSION: No cardiomegaly with bilateral small pleural effusions.",
     {CAR: N, EFF: P, NRM: 0}),
    ("IMPRESSION: No pneumothorax with small left pleural effusion.", {PTX: N, EFF: P, NRM: 0}),
    ("IMPRESSION: No focal consolidation with mild cardiomegaly.", {CON: N, CAR: P, NRM: 0}),
]

NEGEX_STYLE = [  # NegEx / ConText triggers
    ("IMPRESSION: Ruled out for pneumonia.", {PNA: N, NRM: 1}),
    ("IMPRESSION: Doubt pneumonia.", {PNA: N, NRM: 1}),
    ("IMPRESSION: Lungs clear, without indication of pneumonia.", {PNA: N, NRM: 1}),
    ("IMPRESSION: Pneumonia was negative.", {PNA: N, NRM: 1}),
    ("IMPRESSION: Not consistent with pneumonia.", {PNA: N, NRM: 1}),
    ("IMPRESSION: Unlikely to be pneumonia.", {PNA: N, NRM: 1}),
    ("FINDINGS: Pleural effusion, pneumothorax, and consolidation are not seen.",
     {EFF: N, PTX: N, CON: N, NRM: 1}),
    ("FINDINGS: The lungs are free from consolidation.", {CON: N, NRM: 1}),
    ("FINDINGS: The cardiomediastinal silhouette is not enlarged.", {CAR: N, NRM: 1}),
    ("FINDINGS: Heart is not significantly enlarged.", {CAR: N, NRM: 1}),
]

EXCEPTIONS_AND_HYPOTHETICALS = [  # "except for X" is stated; "if X develops" is not found
    ("IMPRESSION: No acute abnormality except for a small left pleural effusion.",
     {EFF: P, NRM: 0}),
    ("IMPRESSION: No abnormality other than cardiomegaly.", {CAR: P, NRM: 0}),
    ("IMPRESSION: No new findings aside from the known nodule.", {NOD: P, NRM: 0}),
    ("IMPRESSION: No abnormality except cardiomegaly and atelectasis.",
     {CAR: P, ATE: P, NRM: 0}),
    ("IMPRESSION: Lungs clear. Return if she develops pneumonia.", {PNA: U}),
    ("IMPRESSION: Should a pneumothorax develop, place a chest tube.", {PTX: U}),
    ("IMPRESSION: Patient at risk for pneumonia.", {PNA: U}),
    ("IMPRESSION: Monitor for pneumothorax.", {PTX: U}),
]

GROUPS = {
    "negated lists": NEGATED_LISTS,
    "absent": ABSENT, "requests": REQUESTS, "wrapped text": WRAPPED, "signs": SIGNS,
    "peer style": PEER_STYLE, "history": HISTORY, "hedges": HEDGES,
    "with a size": WITH_A_SIZE, "negex style": NEGEX_STYLE,
    "exceptions and hypotheticals": EXCEPTIONS_AND_HYPOTHETICALS,
}
ROWS = [row for rows in GROUPS.values() for row in rows]
