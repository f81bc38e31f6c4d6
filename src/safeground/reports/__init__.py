"""Reports for government and donors, made from the record: the programme report (HTML and
xlsx, with the plan's outlook when a plan is given) and the SVG charts it draws."""
