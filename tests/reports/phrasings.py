"""Hospital phrasings with their expected cells, worked out by hand.

One report a row: the text and the cells a reader of the report would write: each
finding mentioned (1 positive, 0 negative, -1 uncertain, None: must NOT be reported, e.g.
"massive" is no Mass) and ``Normal`` (1 when no disease at all is present; support devices
are not diseases). Cells not named are not checked. Grouped by the language they test.
"""

from __future__ import annotations

P, N, U = 1, 0, -1
ATE, CAR, EFF, INF = "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration"
MAS, NOD, PNA, PTX = "Mass", "Nodule", "Pneumonia", "Pneumothorax"
CON, EDE, EMP, FIB = "Consolidation", "Edema", "Emphysema", "Fibrosis"
PLT, HER, NRM = "Pleural_Thickening", "Hernia", "Normal"

NEGATION_SCOPE = [
    ("IMPRESSION: No pneumothorax, small left pleural effusion.", {PTX: N, EFF: P, NRM: 0}),
    ("IMPRESSION: No acute abnormality, mild cardiomegaly.", {CAR: P, NRM: 0}),
    ("FINDINGS: No effusion, moderate cardiomegaly.", {EFF: N, CAR: P, NRM: 0}),
    ("IMPRESSION: No focal consolidation, trace right pleural effusion.",
     {CON: N, EFF: P, NRM: 0}),
    ("FINDINGS: No pneumothorax, stable right upper lobe nodule.", {PTX: N, NOD: P, NRM: 0}),
    ("IMPRESSION: No pleural effusion, pneumothorax or consolidation.",
     {EFF: N, PTX: N, CON: N, NRM: 1}),
    ("FINDINGS: No focal consolidation, large pleural effusion, or pneumothorax is identified.",
     {CON: N, EFF: N, PTX: N, NRM: 1}),
    ("IMPRESSION: No pneumonia, mild pulmonary edema.", {PNA: N, EDE: P, NRM: 0}),
    ("FINDINGS: No edema, small bilateral effusions.", {EDE: N, EFF: P, NRM: 0}),
    ("IMPRESSION: No acute cardiopulmonary process, hyperinflated lungs consistent with "
     "emphysema.", {EMP: P, NRM: 0}),
    ("IMPRESSION: No pneumothorax, persistent left apical pleural thickening.",
     {PTX: N, PLT: P, NRM: 0}),
    ("FINDINGS: Small left effusion, no pneumothorax.", {EFF: P, PTX: N, NRM: 0}),
    ("IMPRESSION: Mild cardiomegaly, no edema or effusion.", {CAR: P, EDE: N, EFF: N, NRM: 0}),
    ("IMPRESSION: No consolidation, mild pulmonary edema, no pneumothorax.",
     {CON: N, EDE: P, PTX: N, NRM: 0}),
    ("FINDINGS: No pneumothorax, small hiatal hernia.", {PTX: N, HER: P, NRM: 0}),
    ("IMPRESSION: No edema, mild interstitial fibrosis.", {EDE: N, FIB: P, NRM: 0}),
    ("IMPRESSION: No nodule, left lower lobe consolidation.", {NOD: N, CON: P, NRM: 0}),
    ("FINDINGS: Negative for pneumothorax, small left apical pleural thickening.",
     {PTX: N, PLT: P, NRM: 0}),
    ("FINDINGS: Emphysema. No pneumothorax, moderate right pleural effusion.",
     {EMP: P, PTX: N, EFF: P, NRM: 0}),
    ("IMPRESSION: No infiltrate, large right upper lobe mass.", {INF: N, MAS: P, NRM: 0}),
    ("FINDINGS: Stable cardiomegaly, no pulmonary edema.", {CAR: P, EDE: N, NRM: 0}),
    ("FINDINGS: There is no pleural thickening, effusion or pneumothorax.",
     {PLT: N, EFF: N, PTX: N, NRM: 1}),
    ("IMPRESSION: No pneumothorax, pleural effusion, or focal airspace consolidation.",
     {PTX: N, EFF: N, CON: N, NRM: 1}),
    ("FINDINGS: The lungs are clear without infiltrate or effusion.",
     {INF: N, EFF: N, NRM: 1}),
    ("IMPRESSION: Cardiomegaly without pulmonary edema.", {CAR: P, EDE: N, NRM: 0}),
]

CLAUSE_WORDS = [
    ("FINDINGS: No evidence of pneumonia, but there is a small left effusion.",
     {PNA: N, EFF: P, NRM: 0}),
    ("IMPRESSION: There is no pneumothorax; however, a small left effusion is present.",
     {PTX: N, EFF: P, NRM: 0}),
    ("FINDINGS: No focal consolidation, though there is mild bibasilar atelectasis.",
     {CON: N, ATE: P, NRM: 0}),
    ("IMPRESSION: No pulmonary edema but the heart is enlarged.", {EDE: N, CAR: P, NRM: 0}),
    ("IMPRESSION: No effusion but there is a 1 cm nodule in the right upper lobe.",
     {EFF: N, NOD: P, NRM: 0}),
    ("FINDINGS: Lungs are clear without consolidation, but there is a small hiatal hernia.",
     {CON: N, HER: P, NRM: 0}),
    ("IMPRESSION: No new consolidation; however, there is a right lower lobe mass.",
     {CON: N, MAS: P, NRM: 0}),
    ("FINDINGS: No pneumothorax, however there is a small left effusion.",
     {PTX: N, EFF: P, NRM: 0}),
    ("IMPRESSION: Patchy infiltrate in the right lower lobe, but no consolidation or effusion.",
     {INF: P, CON: N, EFF: N, NRM: 0}),
    ("FINDINGS: No edema, although mild cardiomegaly is present.", {EDE: N, CAR: P, NRM: 0}),
    ("IMPRESSION: No pneumonia but emphysematous changes are seen.",
     {PNA: N, EMP: P, NRM: 0}),
]

NEITHER_NOR = [
    ("IMPRESSION: Neither pneumothorax nor effusion.", {PTX: N, EFF: N, NRM: 1}),
    ("FINDINGS: There is neither consolidation nor pulmonary edema.",
     {CON: N, EDE: N, NRM: 1}),
    ("IMPRESSION: No pneumothorax nor pleural effusion.", {PTX: N, EFF: N, NRM: 1}),
    ("FINDINGS: Neither focal infiltrate nor pleural effusion is seen.",
     {INF: N, EFF: N, NRM: 1}),
    ("IMPRESSION: Neither mass nor nodule is identified.", {MAS: N, NOD: N, NRM: 1}),
]

DIFFERENTIALS = [
    ("IMPRESSION: Atelectasis versus consolidation in the left lower lobe.",
     {ATE: U, CON: U, NRM: 0}),
    ("FINDINGS: Right basilar opacity, atelectasis versus pneumonia.",
     {ATE: U, PNA: U, NRM: 0}),
    ("IMPRESSION: Left lower lobe atelectasis or consolidation.", {ATE: U, CON: U, NRM: 0}),
    ("IMPRESSION: Pneumonia vs. edema.", {PNA: U, EDE: U, NRM: 0}),
    ("FINDINGS: Nodule versus nipple shadow in the left lower lung.", {NOD: U, NRM: 0}),
    ("IMPRESSION: Bibasilar opacities, which could reflect atelectasis or infiltrate.",
     {ATE: U, INF: U, NRM: 0}),
    ("IMPRESSION: Findings may represent edema or pneumonia.", {EDE: U, PNA: U, NRM: 0}),
    ("FINDINGS: Mass or consolidation in the right upper lobe.", {MAS: U, CON: U, NRM: 0}),
    ("IMPRESSION: Cardiomegaly versus pericardial effusion.", {CAR: U, EFF: U, NRM: 0}),
    ("IMPRESSION: Right lower lobe opacity, atelectasis or pneumonia.",
     {ATE: U, PNA: U, NRM: 0}),
    ("FINDINGS: Fibrosis versus chronic interstitial edema.", {FIB: U, EDE: U, NRM: 0}),
]

HEDGES = [
    ("IMPRESSION: Possible small left pleural effusion.", {EFF: U, NRM: 0}),
    ("FINDINGS: Cannot exclude early pneumonia.", {PNA: U, NRM: 0}),
    ("IMPRESSION: Opacity in the right lower lobe, suspicious for pneumonia.",
     {PNA: U, NRM: 0}),
    ("FINDINGS: Questionable small nodule in the left upper lobe.", {NOD: U, NRM: 0}),
    ("IMPRESSION: A small pneumothorax cannot be excluded.", {PTX: U, NRM: 0}),
    ("IMPRESSION: Findings suggestive of mild interstitial edema.", {EDE: U, NRM: 0}),
    ("FINDINGS: Left basilar opacity may represent atelectasis.", {ATE: U, NRM: 0}),
    ("IMPRESSION: Concern for right upper lobe mass.", {MAS: U, NRM: 0}),
    ("IMPRESSION: Emphysema is not excluded.", {EMP: U, NRM: 0}),
    ("FINDINGS: Subtle opacity, possibly early infiltrate.", {INF: U, NRM: 0}),
    ("IMPRESSION: Mild cardiomegaly. Possible trace left effusion.",
     {CAR: P, EFF: U, NRM: 0}),
    ("FINDINGS: No pneumothorax. Possible small hiatal hernia.", {PTX: N, HER: U, NRM: 0}),
    ("IMPRESSION: Small effusion, cannot exclude underlying consolidation.",
     {EFF: P, CON: U, NRM: 0}),
]

PSEUDO_NEGATION = [
    ("IMPRESSION: No change in the left pleural effusion.", {EFF: P, NRM: 0}),
    ("FINDINGS: Stable cardiomegaly. No interval change.", {CAR: P, NRM: 0}),
    ("IMPRESSION: Cardiomegaly, no interval change.", {CAR: P, NRM: 0}),
    ("FINDINGS: No interval change in the right upper lobe nodule.", {NOD: P, NRM: 0}),
    ("IMPRESSION: Stable cardiomegaly with no new effusion.", {CAR: P, EFF: N, NRM: 0}),
    ("IMPRESSION: No new consolidation. Chronic interstitial fibrosis is unchanged.",
     {CON: N, FIB: P, NRM: 0}),
    ("FINDINGS: Persistent left lower lobe atelectasis without new consolidation.",
     {ATE: P, CON: N, NRM: 0}),
    ("IMPRESSION: No significant change in bilateral pleural effusions.", {EFF: P, NRM: 0}),
    ("FINDINGS: Emphysema without significant interval change.", {EMP: P, NRM: 0}),
    ("IMPRESSION: No new infiltrate. Known left upper lobe mass again noted.",
     {INF: N, MAS: P, NRM: 0}),
    ("IMPRESSION: No increase in the small right pneumothorax.", {PTX: P, NRM: 0}),
    ("IMPRESSION: Unchanged emphysema. No new focal consolidation, effusion, or "
     "pneumothorax.", {EMP: P, CON: N, EFF: N, PTX: N, NRM: 0}),
    ("FINDINGS: Left lower lobe atelectasis, no new infiltrate.", {ATE: P, INF: N, NRM: 0}),
    ("IMPRESSION: Hiatal hernia, unchanged. No new pneumothorax.", {HER: P, PTX: N, NRM: 0}),
    ("IMPRESSION: Moderate cardiomegaly with no interval change.", {CAR: P, NRM: 0}),
]

RESOLVED = [
    ("IMPRESSION: The right pleural effusion has resolved.", {EFF: N, NRM: 1}),
    ("FINDINGS: Interval resolution of left lower lobe pneumonia.", {PNA: N, NRM: 1}),
    ("IMPRESSION: Resolved left pneumothorax.", {PTX: N, NRM: 1}),
    ("FINDINGS: Previously seen right lower lobe consolidation has cleared.",
     {CON: N, NRM: 1}),
    ("IMPRESSION: Resolution of the previously noted atelectasis.", {ATE: N, NRM: 1}),
    ("FINDINGS: Pulmonary edema has resolved. Heart size is normal.", {EDE: N, NRM: 1}),
    ("IMPRESSION: Interval resolution of the pneumothorax, small residual left effusion.",
     {PTX: N, EFF: P, NRM: 0}),
    ("FINDINGS: Left effusion has resolved, but mild cardiomegaly persists.",
     {EFF: N, CAR: P, NRM: 0}),
    ("IMPRESSION: Interval clearing of the right lower lobe infiltrate.", {INF: N, NRM: 1}),
    ("IMPRESSION: The pneumothorax is no longer seen.", {PTX: N, NRM: 1}),
    ("FINDINGS: Resolved bibasilar atelectasis. Stable cardiomegaly.",
     {ATE: N, CAR: P, NRM: 0}),
]

DEVICES_AND_NORMAL = [
    ("FINDINGS: Endotracheal tube tip 4 cm above the carina. No pneumothorax.",
     {PTX: N, NRM: 1}),
    ("IMPRESSION: Right PICC line tip in the SVC. Lungs are clear.", {NRM: 1}),
    ("FINDINGS: Left chest wall pacemaker with leads in the right atrium and ventricle. "
     "No acute disease.", {NRM: 1}),
    ("IMPRESSION: Nasogastric tube in the stomach. No pleural effusion.", {EFF: N, NRM: 1}),
    ("IMPRESSION: Right chest tube in place. Small residual right pneumothorax.",
     {PTX: P, NRM: 0}),
    ("FINDINGS: Central venous catheter tip at the cavoatrial junction. Mild cardiomegaly.",
     {CAR: P, NRM: 0}),
    ("IMPRESSION: Normal chest.", {NRM: 1}),
    ("IMPRESSION: Heart size normal. Lungs clear.", {NRM: 1}),
    ("FINDINGS: Normal heart size. No focal consolidation.", {CON: N, NRM: 1}),
    ("IMPRESSION: No acute abnormality, calcified granuloma in the right upper lobe.",
     {NRM: 0}),
    ("IMPRESSION: Feeding tube in the stomach. Left lower lobe atelectasis.",
     {ATE: P, NRM: 0}),
    ("FINDINGS: ECG leads overlie the chest. No acute cardiopulmonary abnormality.",
     {NRM: 1}),
    ("IMPRESSION: Tracheostomy tube in good position. No consolidation.", {CON: N, NRM: 1}),
    ("IMPRESSION: Healed right rib fracture. No pneumothorax.", {PTX: N, NRM: 0}),
    ("FINDINGS: Surgical clips in the right upper quadrant. Lungs are clear.", {NRM: 1}),
    ("IMPRESSION: Swan-Ganz catheter tip in the right pulmonary artery. No edema.",
     {EDE: N, NRM: 1}),
    ("FINDINGS: Right internal jugular central line, tip in the SVC. No pneumothorax or "
     "effusion.", {PTX: N, EFF: N, NRM: 1}),
    ("IMPRESSION: Enteric tube tip in the stomach. Mild bibasilar atelectasis.",
     {ATE: P, NRM: 0}),
    ("FINDINGS: Sternal wires intact. Heart and lungs are normal.", {NRM: 1}),
    ("IMPRESSION: Left subclavian pacer. Cardiomegaly with small bilateral effusions.",
     {CAR: P, EFF: P, NRM: 0}),
]

SECTIONS = [
    ("INDICATION: Pneumonia. FINDINGS: Lungs are clear. IMPRESSION: No acute disease.",
     {PNA: None, NRM: 1}),
    ("HISTORY: Shortness of breath, effusion. IMPRESSION: Small left pleural effusion.",
     {EFF: P, NRM: 0}),
    ("COMPARISON: Chest x-ray with left pneumothorax. FINDINGS: No pneumothorax.",
     {PTX: N, NRM: 1}),
    ("INDICATION: Evaluate for mass. FINDINGS: Heart size is normal. No mass or nodule.",
     {MAS: N, NOD: N, NRM: 1}),
    ("Findings: Mild cardiomegaly.\nImpression: Cardiomegaly without edema.",
     {CAR: P, EDE: N, NRM: 0}),
    ("CLINICAL HISTORY: Cough.\nFINDINGS:\nNo pleural effusion.\nIMPRESSION:\nNo acute process.",
     {EFF: N, NRM: 1}),
    ("TECHNIQUE: PA and lateral. FINDINGS: Hyperinflated lungs with emphysema. "
     "IMPRESSION: COPD.", {EMP: P, NRM: 0}),
    ("INDICATION: Rule out pneumothorax. FINDINGS: No pneumothorax. Small left effusion.",
     {PTX: N, EFF: P, NRM: 0}),
    ("REASON FOR EXAM: Edema. FINDINGS: Lungs clear. IMPRESSION: Normal chest radiograph.",
     {EDE: None, NRM: 1}),
]

FALSE_HITS = [
    ("FINDINGS: Mild bronchial wall thickening. IMPRESSION: No acute disease.",
     {PLT: None, NRM: 0}),
    ("IMPRESSION: Massive cardiomegaly.", {CAR: P, MAS: None, NRM: 0}),
    ("FINDINGS: Massive right pleural effusion.", {EFF: P, MAS: None, NRM: 0}),
    ("IMPRESSION: Peribronchial thickening, which may reflect bronchitis.",
     {PLT: None, NRM: 0}),
    ("FINDINGS: The trachea is midline without mass effect. Lungs are clear.",
     {MAS: None, NRM: 1}),
    ("FINDINGS: Thickening of the interlobular septa, consistent with interstitial edema.",
     {EDE: P, PLT: None, NRM: 0}),
    ("IMPRESSION: Subcutaneous emphysema in the left chest wall.", {EMP: None, NRM: 0}),
    ("FINDINGS: Soft tissue edema in the right chest wall. Lungs are clear.",
     {EDE: None, NRM: 0}),
    ("IMPRESSION: Nipple shadows. No nodule.", {NOD: N, NRM: 1}),
    ("FINDINGS: Calcified hilar lymph nodes. No pneumothorax.", {PTX: N, NRM: 0}),
    ("FINDINGS: Airway wall thickening.", {PLT: None, NRM: 0}),
    ("FINDINGS: Peribronchial cuffing and mild interstitial edema.",
     {PLT: None, EDE: P, NRM: 0}),
    ("IMPRESSION: Massively enlarged heart.", {MAS: None, NRM: 0}),
    ("FINDINGS: Thickened bronchial walls. No focal consolidation.",
     {PLT: None, CON: N, NRM: 0}),
    ("IMPRESSION: Pleural thickening at the left base.", {PLT: P, NRM: 0}),
]

MULTI_FINDING = [
    ("IMPRESSION: Large hiatal hernia. No pneumothorax or effusion.",
     {HER: P, PTX: N, EFF: N, NRM: 0}),
    ("FINDINGS: Apical pleural thickening bilaterally, no pleural effusion.",
     {PLT: P, EFF: N, NRM: 0}),
    ("IMPRESSION: Pulmonary fibrosis, no superimposed pneumonia.", {FIB: P, PNA: N, NRM: 0}),
    ("FINDINGS: No emphysema, mild basilar fibrotic changes.", {EMP: N, FIB: P, NRM: 0}),
    ("IMPRESSION: Interstitial edema, small bilateral pleural effusions, and cardiomegaly, "
     "consistent with congestive heart failure.", {EDE: P, EFF: P, CAR: P, NRM: 0}),
    ("IMPRESSION: Left upper lobe mass with post-obstructive atelectasis; no pleural effusion.",
     {MAS: P, ATE: P, EFF: N, NRM: 0}),
    ("FINDINGS: Multiple pulmonary nodules. No effusion.", {NOD: P, EFF: N, NRM: 0}),
    ("IMPRESSION: Right lower lobe consolidation consistent with pneumonia.",
     {CON: P, PNA: P, NRM: 0}),
    ("FINDINGS: No infiltrate, mass or effusion.", {INF: N, MAS: N, EFF: N, NRM: 1}),
    ("IMPRESSION: Small right pneumothorax, no mediastinal shift.", {PTX: P, NRM: 0}),
    ("FINDINGS: Mild cardiomegaly and pulmonary vascular congestion without frank edema.",
     {CAR: P, EDE: N, NRM: 0}),
    ("IMPRESSION: No acute process. Stable emphysema and apical pleural thickening.",
     {EMP: P, PLT: P, NRM: 0}),
    ("FINDINGS: No pneumothorax. Hiatal hernia noted.", {PTX: N, HER: P, NRM: 0}),
    ("FINDINGS: 2 cm mass in the right hilum. No effusion.", {MAS: P, EFF: N, NRM: 0}),
    ("IMPRESSION: No suspicious pulmonary nodule or mass.", {NOD: N, MAS: N, NRM: 1}),
    ("FINDINGS: Clear of infiltrate, chronic emphysematous changes.",
     {INF: N, EMP: P, NRM: 0}),
    ("IMPRESSION: Bilateral lower lobe consolidation and small effusions, no pneumothorax.",
     {CON: P, EFF: P, PTX: N, NRM: 0}),
    ("FINDINGS: Diffuse interstitial fibrosis with superimposed edema. No pneumothorax.",
     {FIB: P, EDE: P, PTX: N, NRM: 0}),
]

GROUPS = {
    "negation scope": NEGATION_SCOPE, "clause words": CLAUSE_WORDS,
    "neither nor": NEITHER_NOR, "differentials": DIFFERENTIALS, "hedges": HEDGES,
    "pseudo-negation": PSEUDO_NEGATION, "resolved": RESOLVED,
    "devices and Normal": DEVICES_AND_NORMAL, "sections": SECTIONS,
    "false vocabulary hits": FALSE_HITS, "multiple findings": MULTI_FINDING,
}
ROWS = [row for rows in GROUPS.values() for row in rows]


def observed(result, finding: str):
    """A result's cell for ``finding`` (one of the 14 or ``Normal``)."""
    return result.normal if finding == NRM else result.labels[finding]


def cell_accuracy(labeler) -> tuple[int, int, list[tuple[str, str, object, object]]]:
    """``(right, total, wrong)`` over every expected cell; ``wrong``: (text, cell, want, got)."""
    results = labeler.label_batch([text for text, _ in ROWS])
    right, total, wrong = 0, 0, []
    for (text, cells), result in zip(ROWS, results, strict=True):
        for finding, want in cells.items():
            got = observed(result, finding)
            total += 1
            if got == want:
                right += 1
            else:
                wrong.append((text, finding, want, got))
    return right, total, wrong
