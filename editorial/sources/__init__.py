"""Outside sources about cited works: the resolver (Crossref, PubMed) and its local stub."""
