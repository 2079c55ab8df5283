-- Hand-written offline SQL: each unsafe statement is flagged once, the safe ones never.
BEGIN;

-- Running upgrade  -> a1

CREATE TABLE payments (id SERIAL NOT NULL, note TEXT, PRIMARY KEY (id));
CREATE INDEX ix_payments_note ON payments (note);
CREATE INDEX CONCURRENTLY ix_orders_ref ON orders (ref);
ALTER TABLE orders ADD CONSTRAINT ck_total CHECK (total > 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT ck_total;
INSERT INTO audit (sql) VALUES ('ALTER TABLE orders DROP COLUMN note; DROP TABLE orders');
INSERT INTO audit (sql) VALUES (E'it\'s DROP TABLE x');
CREATE FUNCTION f() RETURNS void AS $body$ BEGIN DROP TABLE tmp; END $body$ LANGUAGE plpgsql;
/* DROP TABLE in /* a nested */ comment */
-- DROP TABLE in a line comment

-- Running upgrade a1 -> a2

ALTER TABLE orders DROP COLUMN note;
ALTER TABLE "orders" RENAME COLUMN "ref" TO "reference";
CREATE UNIQUE INDEX ix_orders_code ON orders (code);

COMMIT;
