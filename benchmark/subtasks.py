"""The 11 MMRA subtasks (6 entity-level, 5 image-level).

Names and abbreviations are MMRA's own (its result-table headers). Definitions are ours, written from the
paper's examples and third-party summaries (see docs: the paper body is not public offline); `paper_count` is
derived from the published per-subtask accuracies and sums to 1,024.
"""

from __future__ import annotations

from .subtask_spec import Subtask
from .vocabulary import Granularity, QAType

# Each built-in subtask names its miner in curation/miners.py; it is imported only when curation runs.

MC = QAType.multiple_choice
YN = QAType.yes_no
E = Granularity.entity
I = Granularity.image  # noqa: E741

BUILTIN_SUBTASKS = (
    Subtask(
        name="RelativePosition", abbreviation="RP", granularity=E, paper_count=81,
        miner="mmra.curation.miners:mine_relative_position",
        definition="Whether entities in the two images occupy similar positions: the same kind of entity sits in "
        "a comparable place in each frame or relative to another entity (left/right, above/below, centre/edge).",
        relations=(), signal="geometry",
        qa_types=(MC, YN),
        guidance="Ask about where an entity is in Image 1 compared with Image 2 (e.g. 'In both images, where is "
        "the dog relative to the person?'). The answer must need both images; positions are as seen by the viewer.",
        example_question="In which image is the cup closer to the left edge than the laptop?",
    ),
    Subtask(
        name="UsageSimilarity", abbreviation="US", granularity=E, paper_count=99,
        miner="mmra.curation.miners:mine_usage_similarity",
        definition="Entities in the two images can be used for the same purpose or share a function "
        "(ConceptNet UsedFor / CapableOf), e.g. a knife in one image and scissors in the other are both used for cutting.",
        relations=("UsedFor", "CapableOf"), signal="conceptnet",
        qa_types=(MC,),
        guidance="Name no entity in the question if the options would give the answer away; ask which use the "
        "entities in the two images share. Distractors should be uses of only one of the entities.",
        example_question="What can an object in Image 1 and an object in Image 2 both be used for?",
    ),
    Subtask(
        name="MentalitySimilarity", abbreviation="MS", granularity=E, paper_count=89,
        miner="mmra.curation.miners:mine_mentality_similarity",
        definition="Whether people or animals in the two images exhibit similar emotional states or desires "
        "(evidence from captions and ConceptNet Desires / CausesDesire / HasProperty).",
        relations=("Desires", "CausesDesire", "HasProperty"), signal="captions+conceptnet",
        qa_types=(MC, YN),
        guidance="Ask about the mood, feeling or wish of the people/animals visible in both images. Only ask "
        "when the state is visible (faces, posture, activity).",
        example_question="Which feeling do the people in both images most likely share?",
    ),
    Subtask(
        name="SimilarMaterial", abbreviation="SM", granularity=E, paper_count=106,
        miner="mmra.curation.miners:mine_similar_material",
        definition="Entities in the two images are made of the same material (ConceptNet MadeOf), e.g. "
        "'the bench and the tree are made of the same material' (wood).",
        relations=("MadeOf",), signal="conceptnet",
        qa_types=(MC,),
        guidance="Ask which material an entity in Image 1 shares with an entity in Image 2, or which pair of "
        "entities is made of the same material. Check the material is plausible for the objects as shown.",
        example_question="Which material are the bench in Image 1 and the tree in Image 2 both made of?",
    ),
    Subtask(
        name="AppearanceSimilarity", abbreviation="AS", granularity=E, paper_count=90,
        miner="mmra.curation.miners:mine_appearance_similarity",
        definition="Entities in the two images look alike: similar shape, colour or other visual property "
        "(ConceptNet HasProperty with visual properties, SimilarTo).",
        relations=("HasProperty", "SimilarTo"), signal="conceptnet",
        qa_types=(MC,),
        guidance="Ask which entity in Image 2 looks most like a given entity in Image 1 (shape, colour, "
        "texture). Distractors must be entities that are actually visible.",
        example_question="Which object in Image 2 has the most similar shape to the clock in Image 1?",
    ),
    Subtask(
        name="NearSameEntity", abbreviation="NSE", granularity=E, paper_count=63,
        miner="mmra.curation.miners:mine_near_same_entity",
        definition="The same kind of entity appears close to a focal object in both images (the presence of "
        "entities in close proximity across images; ConceptNet has almost no LocatedNear, so this is mined from boxes).",
        relations=("LocatedNear",), signal="geometry",
        qa_types=(MC, YN),
        guidance="Pick a focal object visible in both images and ask what is near it in both. The nearby "
        "entity must be clearly close to the focal object in each image.",
        example_question="What is next to the table in both images?",
    ),
    Subtask(
        name="Environment", abbreviation="Env", granularity=I, paper_count=90,
        miner="mmra.curation.miners:mine_environment",
        definition="The two images depict the same kind of environment or scene, e.g. 'those images all depict "
        "outdoor scenes' (mined from ConceptNet AtLocation of the entities and caption scene words).",
        relations=("AtLocation",), signal="conceptnet",
        qa_types=(MC,),
        guidance="Ask what kind of place both images show. The answer should follow from the whole scene, "
        "not from one object.",
        example_question="What kind of environment do both images depict?",
    ),
    Subtask(
        name="Layout", abbreviation="LO", granularity=I, paper_count=90,
        miner="mmra.curation.miners:mine_layout",
        definition="The two scenes have a similar spatial composition: the arrangement of their main objects "
        "(mined from box geometry; no ConceptNet relation).",
        relations=(), signal="geometry",
        qa_types=(MC, YN),
        guidance="Ask about the arrangement of the main objects (e.g. 'In both images the objects are arranged "
        "...'). Describe layouts in plain words; avoid pixel-exact claims.",
        example_question="How are the main objects arranged in both images?",
    ),
    Subtask(
        name="SimilarEvent", abbreviation="SimE", granularity=I, paper_count=90,
        miner="mmra.curation.miners:mine_similar_event",
        definition="The two images show the same event or activity, e.g. 'they all show the same event: people "
        "sitting' (caption events linked through ConceptNet HasSubevent / IsA).",
        relations=("HasSubevent", "IsA"), signal="captions+conceptnet",
        qa_types=(MC,),
        guidance="Ask which event or activity both images show. Distractors should be events shown in only one image.",
        example_question="Which event do both images show?",
    ),
    Subtask(
        name="SubEvent", abbreviation="SubE", granularity=I, paper_count=100,
        miner="mmra.curation.miners:mine_sub_event",
        definition="One image shows a sub-event (a step, the first or the last step) of the event in the other "
        "image (ConceptNet HasSubevent / HasFirstSubevent / HasLastSubevent). Direction matters: the answer "
        "depends on which image comes first.",
        relations=("HasSubevent", "HasFirstSubevent", "HasLastSubevent"), signal="captions+conceptnet",
        qa_types=(YN,), order_sensitive=True, swap_rule="flip_yes_no",
        guidance="Write a yes/no question of the form 'Is the event in Image 2 a step of the event in Image 1?'. "
        "Keep Yes and No balanced across the subtask. Always refer to the images as 'Image 1' and 'Image 2'.",
        example_question="Is the event in Image 2 part of the event shown in Image 1?",
    ),
    Subtask(
        name="ObservationAngle", abbreviation="OA", granularity=I, paper_count=126,
        miner="mmra.curation.miners:mine_observation_angle",
        definition="Whether the two photos are taken from a similar viewpoint or camera angle (top-down, eye "
        "level, close-up, wide shot); mined with a heuristic from caption viewpoint cues and box scale.",
        relations=(), signal="geometry+captions (heuristic)",
        qa_types=(MC, YN),
        guidance="Ask about the camera viewpoint of both photos. The evidence shown is a heuristic: check it "
        "against the images before keeping the pair.",
        example_question="From which angle are both photos taken?",
    ),
)

ENTITY_LEVEL = tuple(s.abbreviation for s in BUILTIN_SUBTASKS if s.granularity == E)
IMAGE_LEVEL = tuple(s.abbreviation for s in BUILTIN_SUBTASKS if s.granularity == I)
# The paper's column order (entity then image level).
PAPER_ORDER = ("RP", "US", "MS", "SM", "AS", "NSE", "Env", "LO", "SimE", "SubE", "OA")
