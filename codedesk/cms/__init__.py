"""The CMS code sets as typed records: parsers of the official file formats (Tabular List, Alphabetic
Index, addenda, Official Guidelines PDF, ICD-10-PCS, HCPCS), the code book with its inherited notes, and
which code book answers each fiscal year. Files in, records out: no Chroma, no Slack, no database."""
