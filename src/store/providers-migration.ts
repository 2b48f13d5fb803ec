import type { NamedMigration } from './migrations.js';

/** Calls and recordings from Vonage and ElevenLabs in the same tables as Twilio's. */
export const providers006: NamedMigration = {
  name: '006_providers',
  async up(knex) {
    await knex.schema.alterTable('calls', (t) => {
      t.text('provider').notNullable().defaultTo('twilio');
      // The provider's own id (Vonage conversation_uuid, ElevenLabs conversation_id); Twilio
      // calls leave it null, their call_sid is the provider id.
      t.text('provider_call_id').nullable();
      t.unique(['provider', 'provider_call_id']);
    });
    await knex.schema.createTable('provider_events', (t) => {
      t.increments('id');
      t.text('provider').notNullable();
      // What makes a delivery a repeat: a retried webhook finds its key and changes nothing.
      t.text('event_key').notNullable();
      t.text('call_sid').nullable();
      t.text('kind').notNullable();
      t.text('received_at').notNullable();
      t.text('payload').notNullable(); // JSON, without audio
      t.unique(['provider', 'event_key']);
      t.index(['call_sid']);
    });
  },
  async down(knex) {
    await knex.schema.dropTable('provider_events');
    await knex.schema.alterTable('calls', (t) => {
      t.dropUnique(['provider', 'provider_call_id']);
      t.dropColumn('provider_call_id');
      t.dropColumn('provider');
    });
  },
};
