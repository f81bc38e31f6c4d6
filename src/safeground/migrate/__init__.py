"""Migration of a whole legacy record (IMSMA NG, IMSMA Core, spreadsheets, GIS files) into
Safeground, in three steps a records officer can follow:

* ``inspect`` lists every layer and field of a source and writes a starter mapping file;
* ``check`` is a dry run: what maps and what does not, geometry faults with the repair made or
  the refusal, links, duplicates — an HTML and a CSV report, nothing written to the record;
* ``run`` takes the mapped reports in through the gate, approves them as one migration batch
  by a second person, and ``rollback`` removes a batch before anything builds on it.
"""
