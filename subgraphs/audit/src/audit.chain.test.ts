import { beforeAll, describe, expect, it } from '@jest/globals';
import { as, asSuperuser, recordCount, tablesOf, type AuditTestHandle } from './__tests__/start-audit.js';
import { STORY, VERIFY, storySuite } from './__tests__/audit-story.js';

describe('audit module: the chain', () => {
  const story = storySuite();
  const { callers, recordOf, verify } = story;
  let handle: AuditTestHandle;
  beforeAll(() => {
    handle = story.handle();
  });

  describe('verifyAuditChain', () => {
    it.each([
      ['anonymous callers', {}],
      ['callers who may only read', as(callers.reader)],
    ])('is FORBIDDEN for %s', async (_case, headers) => {
      const { body } = await handle.query(VERIFY, undefined, headers);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'audit.event.verify' });
    });

    it('checks every record for callers with audit.event.verify', async () => {
      expect(await verify()).toEqual({
        valid: true,
        checked: await recordCount(handle),
        firstBrokenId: null,
        reason: null,
      });
    });

    it('names a record changed behind the service (triggers off, as a superuser)', async () => {
      const target = recordOf.get(STORY[3]!.id)!;
      const { events } = tablesOf(handle);
      const [original] = await handle.runtime
        .em()
        .execute<Array<{ metadata: string }>>(`select metadata::text as metadata from ${events} where id = ?`, [
          target,
        ]);
      await asSuperuser(
        handle,
        events,
        `update ${events} set metadata = '{"roleId":"x","name":"admin"}' where id = ?`,
        [target],
      );
      expect(await verify()).toMatchObject({
        valid: false,
        firstBrokenId: target,
        reason: expect.stringMatching(/changed/),
      });

      await asSuperuser(handle, events, `update ${events} set metadata = ?::jsonb where id = ?`, [
        original!.metadata,
        target,
      ]);
      expect(await verify()).toMatchObject({ valid: true });
    });

    it('names the record after one deleted from the middle, and notices records deleted from the end', async () => {
      const { events } = tablesOf(handle);
      const saved = `"${handle.runtime.db.schema}"."saved_records"`;
      const rows = await handle.runtime.em().execute<Array<{ id: string }>>(`select id from ${events} order by seq`);
      const copy = `create table ${saved} as select * from ${events} where id in (?, ?)`;
      const middle = rows[4]!;
      const last = rows.at(-1)!;
      await handle.runtime.em().transactional(async (tx) => {
        await tx.execute(copy, [middle.id, last.id]);
        await tx.execute(`alter table ${events} disable trigger user`);
        await tx.execute(`delete from ${events} where id = ?`, [middle.id], 'run');
        await tx.execute(`alter table ${events} enable trigger user`);
      });
      expect(await verify()).toMatchObject({
        valid: false,
        firstBrokenId: rows[5]!.id,
        reason: expect.stringMatching(/missing/),
      });

      await asSuperuser(handle, events, `insert into ${events} select * from ${saved} where id = ?`, [middle.id]);
      await asSuperuser(handle, events, `delete from ${events} where id = ?`, [last.id]);
      expect(await verify()).toMatchObject({ valid: false, reason: expect.stringMatching(/missing from the end/) });

      await asSuperuser(handle, events, `insert into ${events} select * from ${saved} where id = ?`, [last.id]);
      await handle.runtime.em().execute(`drop table ${saved}`);
      expect(await verify()).toMatchObject({ valid: true });
    });
  });

  describe('append-only storage', () => {
    it.each([
      ['UPDATE', (t: string) => `update ${t} set action = 'blog.post.deleted'`],
      ['DELETE', (t: string) => `delete from ${t}`],
      ['TRUNCATE', (t: string) => `truncate ${t}`],
    ])("refuses %s of records from the service's own connection", async (_op, sql) => {
      const before = await recordCount(handle);
      await expect(handle.runtime.em().execute(sql(tablesOf(handle).events))).rejects.toThrow(/append-only/);
      expect(await recordCount(handle)).toBe(before);
    });

    it('refuses a DELETE in a transaction that claims to prune, for records no checkpoint covers', async () => {
      const { events } = tablesOf(handle);
      await expect(
        handle.runtime.em().transactional(async (tx) => {
          await tx.execute(`select set_config('audit.prune', 'on', true)`);
          await tx.execute(`delete from ${events}`);
        }),
      ).rejects.toThrow(/append-only/);
    });

    it('refuses to rewind the chain head or to change checkpoints', async () => {
      const { head, checkpoints } = tablesOf(handle);
      await expect(handle.runtime.em().execute(`update ${head} set seq = 0`)).rejects.toThrow(/only moves forward/);
      await expect(handle.runtime.em().execute(`delete from ${head}`)).rejects.toThrow(/only moves forward/);
      await expect(handle.runtime.em().execute(`truncate ${checkpoints}`)).rejects.toThrow(/append-only/);
      expect(await verify()).toMatchObject({ valid: true });
    });
  });
});
