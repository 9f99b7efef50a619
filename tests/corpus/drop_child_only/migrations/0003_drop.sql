DROP TABLE IF EXISTS template_versions;
