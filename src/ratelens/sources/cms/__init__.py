"""CMS files: PFS RVU/GPCI/locality/ZIP, OPPS Addendum B, HCPCS Level II, NCCI, NPPES."""
