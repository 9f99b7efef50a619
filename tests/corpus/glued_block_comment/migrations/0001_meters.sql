-- Migration: 0001_meters
-- Created: 2026-01-05
-- Purpose: meter readings
-- Changes: CREATE TABLE meters
-- Verification:
-- SELECT name FROM sqlite_master WHERE name = 'meters';
CREATE TABLE IF NOT EXISTS meters (
  id INTEGER PRIMARY KEY,
  reading INTEGER/*kWh*/NOT NULL
);
