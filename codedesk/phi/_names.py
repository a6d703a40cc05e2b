"""Word lists for name detection in `codedesk.phi.scrub`.

FIRST_NAMES: common given names (United States and the communities its clinics serve). Names
that are also everyday or clinical words (Grace, Hope, Will, May, June, Rose, Iris, Frank, Rocky…)
are left out on purpose: they would turn "Frank Bleeding" or "May 2 codes" into a name.
SURNAMES: common family names, used only after a lower-case first name ("pt mary smith").
EPONYMS: surnames that name diseases, signs and fractures; after "pt" they are kept when a
possessive or a clinical noun follows ("pt Parkinson's", "Jones fracture").
EPONYM_HEADS: the nouns that follow an eponym, diseases and signs ("syndrome", "sign") and the anatomy
named after people ("Achilles tendon", "Eustachian tube", "Charcot foot").
"""

from __future__ import annotations

FIRST_NAMES = frozenset(
    """
Aaron Abdul Abdullah Abigail Adam Adrian Adriana Ahmed Aidan Aiden Aisha Alan Albert Alejandra
Alejandro Alex Alexander Alexandra Alexis Alfredo Ali Alice Alicia Alina Alison Allison Alma
Alvin Amanda Amber Amelia Amir Amit Amy Ana Andre Andrea Andrew Angel Angela Angelica Anil Anita
Ann Anna Anne Annie Anthony Antonio Anya Arjun Armando Arthur Ashley Aubrey Audrey Austin Ava
Barbara Beatriz Becky Ben Benjamin Bernard Beth Betty Beverly Bianca Billy Blanca Bobby Bonnie
Brad Bradley Brandon Brenda Brent Brian Brianna Brittany Bruce Bryan Caleb Camila Candice
Carl Carla Carlos Carmen Carol Carolina Caroline Carolyn Carrie Catherine Cathy Cecilia Cesar
Charles Charlie Charlotte Cheryl Chloe Chris Christian Christina Christine Christopher
Cindy Claire Clara Claudia Cody Colin Connie Connor Courtney Craig Cristina Crystal Curtis
Cynthia Daisy Dale Dan Dana Daniel Daniela Danielle Danny David Deborah Debra Deepak Denise
Dennis Derek Destiny Devin Diana Diane Diego Dmitri Dolores Dominic Donald Donna Doris Dorothy
Douglas Duane Dustin Dylan Eddie Edgar Eduardo Edward Edwin Eileen Elaine Elena Eli Elias
Elijah Elizabeth Ella Ellen Elsa Emily Emma Emmanuel Enrique Eric Erica Erik Erin Ernest
Esperanza Esther Ethan Eugene Eva Evan Evelyn Fatima Felix Fernando Fiona Florence Francesca
Francisco Gabriel Gabriela Gabrielle Gail Gary Gavin Gene George Gerald Gina Giovanni Gladys
Glen Glenda Glenn Gloria Gordon Greg Gregory Guadalupe Gustavo Hailey Hannah Harold Harry
Hassan Heather Hector Heidi Helen Henry Hiroshi Holly Howard Hugo Ian Ibrahim Igor Ines Irene
Isaac Isabel Isabella Isaiah Ivan Jackie Jacob Jacqueline Jaime Jake James Jamal Jamie Jan
Jane Janet Janice Jared Jasmine Jason Javier Jay Jean Jeff Jeffrey Jenna Jennifer Jenny Jeremy
Jerome Jerry Jesse Jessica Jesus Jill Jim Jimmy Joan Joanna Joanne Joel John Johnny Jonathan
Jordan Jorge Jose Joseph Josephine Joshua Joyce Juan Juanita Judith Judy Julia Julian Juliana
Julie Julio Justin Kai Karen Karina Kate Katherine Kathleen Kathryn Kathy Katie Kayla Keith
Kelly Ken Kenji Kenneth Kevin Kim Kimberly Kirk Krishna Kristen Kristin Kurt Kyle Larry Latoya
Laura Lauren Lawrence Leah Lee Leila Leo Leon Leonard Leslie Li Lila Lillian Linda Lisa Liam
Lois Lorena Lori Lorraine Louis Louise Lucas Lucia Lucy Luis Luz Lydia Lynn Madison Manuel
Marcus Margaret Maria Mariana Marie Marilyn Mario Marisol Marjorie Marlene Martha Martin Marvin
Mary Mason Mateo Matthew Maureen Maxine Maya Megan Mehmet Melanie Melissa Mia Michael Michelle
Miguel Mike Mildred Ming Miriam Mohamed Mohammad Mohammed Monica Muhammad Nadia Nancy Naomi
Natalie Natasha Nathan Nathaniel Neil Nicholas Nicole Nikhil Noah Nora Norma Olga Olivia Omar
Oscar Pablo Pamela Patricia Patrick Paul Paula Pedro Peggy Peter Philip Phyllis Pooja Priya
Rachel Rafael Rahul Raj Ralph Ramon Randy Raquel Ravi Raymond Rebecca Regina Renee Ricardo
Richard Rita Robert Roberto Robin Rodney Roger Roland Ronald Rosa Rosemary Roxanne Roy Ruben
Russell Ruth Ryan Sabrina Sally Samantha Samuel Sandra Sanjay Sara Sarah Scott Sean Sergei
Sergio Shannon Sharon Shawn Sheila Shirley Sofia Sophia Sophie Stacy Stanley Stephanie Stephen
Steve Steven Sunil Susan Suzanne Sylvia Tamara Tammy Tanya Teresa Terry Thomas Tiffany Timothy
Tina Todd Tom Tommy Tony Tracy Travis Trevor Troy Tyler Valerie Vanessa Victor Victoria Vijay
Vincent Virginia Vivian Walter Wanda Wayne Wei Wendy Wesley William Xavier Yan Yesenia Yolanda
Yuki Yusuf Zachary Zainab Zoe
""".split()
)

SURNAMES = frozenset(
    """
adams ahmed ali allen alvarez anderson bailey baker brown campbell carter castillo chavez chen
clark collins cook cooper cruz davis diaz edwards evans flores garcia gomez gonzalez green
gutierrez hall harris hernandez hill huang jackson james jimenez johnson jones kelly khan kim
king lee lewis li lopez martin martinez miller mitchell moore morales morgan morris murphy
nelson nguyen ortiz parker patel perez peterson phillips ramirez reed reyes richardson rivera
roberts robinson rodriguez rogers ross ruiz sanchez scott shah singh smith stewart sullivan
taylor thomas thompson torres turner walker wang ward white williams wilson wong wright wu
young zhang
""".split()
)

EPONYMS = frozenset(
    """
Addison Alzheimer Asperger Baker Barrett Barre Bell Behcet Bowen Buerger Burkitt Charcot Colles
Conn Crohn Cushing Dupuytren Ewing Fallot Gaucher Gilbert Graves Guillain Hashimoto Hirschsprung
Hodgkin Horner Huntington Hunter Jones Kaposi Kawasaki Klinefelter Korsakoff Lewy Lou Lyme
Marfan Meckel Meniere Morton Osgood Paget Parkinson Peyronie Raynaud Reiter Reye Sjogren
Smith Still Tay Tourette Turner Wernicke Whipple Willebrand Wilms Wilson Zenker
""".split()
)

# Nouns that follow an eponym: "Jones fracture", "Ramsay Hunt syndrome", "Austin Flint murmur".
EPONYM_HEADS = frozenset(
    """
anomaly ataxia bodies body cell cells classification contracture criteria cyst deformity
dementia disease diseases disorder diverticulum dystrophy esophagus fever fracture fractures
hernia infection lesion lymphoma maneuver malformation murmur neuralgia neuroma node nodes
nodule operation palsy paralysis phenomenon procedure pupil reaction reconstruction reflex
repair sarcoma scale score sequence sign signs spots stage staging surgery syndrome test
thyroiditis tear triad tumor tumour ulcer virus
tendon tube tubes canal gland glands duct ducts patch patches fibers fibres area artery nerve space
ligament pouch bursa cartilage capsule membrane ring foot joint knee elbow hand shoulder
""".split()
)

# Capitalised words that never start or continue a name after "pt"/"patient".
NOT_NAMES = frozenset(
    """
A About Access Account Acute Admitted Adult After All Also Am An And Any Are As Aspirin
Assistant At Baby Bilateral Boy But By Can Cancer Care Centered Child Chronic Class Clinic
Coder Coding Came Comes Complains Could DM Denies Diabetes Diabetic Diagnosed Did Disease
Do Doctor Does Dr During Education Elderly Encounter Everyone Exam Examination Experience
Failure Female Financial Folks For Fracture From Girl Guys Had Has Have Having He Hearing Heart
Hello Her Here Hey Hi His History However Hx I If In Infant Information Injury Insulin Intake Is
It Kidney Left Male Man May Medicaid Medicare Might Miss Mr Mrs Ms Must Mx My Navigator Needs
New Newborn No Not Note Now Nurse Nursery Of Ok Okay On Or Our Pain Per Physician Please Portal
Post Practitioner Pre Presented Presenting Presents Procedure Prof Provider Question Quick
Received Record Records Registration Reports Requires Responsibility Returned Returns Right
Safety Satisfaction Screening Seen Sepsis Services She Should Since Sorry Stage Started Status
Sure Surgery Syndrome Takes Taking Team Thanks That The Their Then There These They This Those
To Today Type Underwent Undergoing Unit Visit Was We Were What When Where Which While Who Why
With Woman Would Yes Yesterday You
""".split()
)

# Larger US cities, matched on their own ("patient zip …, Atlanta"): a place smaller than a state is
# a Safe Harbor identifier. Cities named like people or eponyms (Austin, Charlotte, Gilbert,
# Henderson, Cleveland…) or like words (Mobile, Buffalo, Reading, Providence, Mesa…) are left out;
# the "City, ST" and "lives in …" patterns catch those.
US_CITIES = frozenset(
    c.replace("_", " ")
    for c in """
Albuquerque Anaheim Anchorage Atlanta Bakersfield Baltimore Baton_Rouge Birmingham Boise Boston
Bridgeport Chattanooga Chesapeake Chicago Chula_Vista Cincinnati Colorado_Springs Corpus_Christi
Dallas Dayton Denver Des_Moines Detroit El_Paso Evanston Fort_Lauderdale Fort_Wayne Fort_Worth
Fresno Grand_Rapids Greensboro Hialeah Honolulu Houston Indianapolis Jacksonville Jersey_City
Kansas_City Knoxville Las_Vegas Little_Rock Long_Beach Los_Angeles Louisville Lubbock Memphis Miami
Milwaukee Minneapolis Nashville New_Orleans Newark Oakland Oklahoma_City Omaha Orlando Philadelphia
Phoenix Pittsburgh Portland Raleigh Riverside Sacramento Salt_Lake_City San_Antonio San_Bernardino
San_Diego San_Francisco San_Jose Santa_Ana Scottsdale Seattle Spokane St._Louis St._Paul
Tallahassee Tampa Toledo Tucson Tulsa Virginia_Beach Wichita Winston-Salem Worcester Yonkers
""".split()
)
